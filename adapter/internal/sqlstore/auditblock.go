package sqlstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/socialrx/socialrx"
)

// An audit block is one appended batch of buffered AuditEvent records
// (socialrx.AuditLog), stored as one row of audit_blocks (auditblocks.go),
// its records encoded here, compactly and fast to decode:
//
//	block   = version:byte(1) n:uvarint record*n
//	record  = id:str recorded:varint(delta from the previous record's, µs)
//	          agent:rep entity:rep patient:rep subtype:rep action:rep
//	          outcome:rep body:str
//	str     = len:uvarint bytes
//	rep     = 0 (the previous record's value of the field) | len+1:uvarint bytes
//
// The first record's "previous" values are "" and 0. Most records of a
// batch share their agent, action, outcome and subtype, so each of those
// costs one byte.

// auditBlockVersion is the first byte of an encoded block.
const auditBlockVersion = 1

// errAuditBlock is the error of a block that does not decode.
var errAuditBlock = errors.New("audit block: corrupt data")

// appendAuditBlock appends the encoding of records to dst.
func appendAuditBlock(dst []byte, records []socialrx.AuditRecord) []byte {
	dst = append(dst, auditBlockVersion)
	dst = binary.AppendUvarint(dst, uint64(len(records)))
	var prev socialrx.AuditRecord
	var prevUS int64
	rep := func(dst []byte, s, p string, first bool) []byte {
		if s == p && !first {
			return append(dst, 0)
		}
		dst = binary.AppendUvarint(dst, uint64(len(s))+1)
		return append(dst, s...)
	}
	for i := range records {
		r := &records[i]
		first := i == 0
		dst = binary.AppendUvarint(dst, uint64(len(r.ID)))
		dst = append(dst, r.ID...)
		us := r.Recorded.UnixMicro()
		dst = binary.AppendVarint(dst, us-prevUS)
		prevUS = us
		dst = rep(dst, r.Agent, prev.Agent, first)
		dst = rep(dst, r.Entity, prev.Entity, first)
		dst = rep(dst, r.Patient, prev.Patient, first)
		dst = rep(dst, r.Subtype, prev.Subtype, first)
		dst = rep(dst, string(r.Action), string(prev.Action), first)
		dst = rep(dst, string(r.Outcome), string(prev.Outcome), first)
		dst = binary.AppendUvarint(dst, uint64(len(r.Body)))
		dst = append(dst, r.Body...)
		prev = *r
	}
	return dst
}

// auditBlockReader decodes a block record by record.
type auditBlockReader struct {
	data []byte
	n    int // records left
	done int // records decoded
	prev socialrx.AuditRecord
	us   int64
	err  error
}

// newAuditBlockReader starts decoding data.
func newAuditBlockReader(data []byte) *auditBlockReader {
	r := &auditBlockReader{data: data}
	if len(data) == 0 || data[0] != auditBlockVersion {
		r.err = errAuditBlock
		return r
	}
	r.data = data[1:]
	n, ok := r.uvarint()
	if !ok || n > uint64(len(r.data)) { // every record takes bytes
		r.err = errAuditBlock
		return r
	}
	r.n = int(n)
	return r
}

func (r *auditBlockReader) uvarint() (uint64, bool) {
	v, k := binary.Uvarint(r.data)
	if k <= 0 {
		return 0, false
	}
	r.data = r.data[k:]
	return v, true
}

func (r *auditBlockReader) bytes() ([]byte, bool) {
	n, ok := r.uvarint()
	if !ok || n > uint64(len(r.data)) {
		return nil, false
	}
	b := r.data[:n:n]
	r.data = r.data[n:]
	return b, true
}

func (r *auditBlockReader) rep(prev string, first bool) (string, bool) {
	n, ok := r.uvarint()
	if !ok {
		return "", false
	}
	if n == 0 {
		return prev, !first
	}
	n--
	if n > uint64(len(r.data)) {
		return "", false
	}
	s := string(r.data[:n])
	r.data = r.data[n:]
	return s, true
}

// next decodes the next record into rec (its Body aliases the block's
// data); false at the end or on an error (Err).
func (r *auditBlockReader) next(rec *socialrx.AuditRecord) bool {
	if r.err != nil || r.n == 0 {
		if r.err == nil && len(r.data) != 0 {
			r.err = errAuditBlock
		}
		return false
	}
	first := r.done == 0
	id, ok := r.bytes()
	if !ok {
		r.err = errAuditBlock
		return false
	}
	d, k := binary.Varint(r.data)
	if k <= 0 {
		r.err = errAuditBlock
		return false
	}
	r.data = r.data[k:]
	var out socialrx.AuditRecord
	out.ID = string(id)
	r.us += d
	out.Recorded = time.UnixMicro(r.us).UTC()
	var action, outcome string
	for _, f := range []struct {
		dst  *string
		prev string
	}{{&out.Agent, r.prev.Agent}, {&out.Entity, r.prev.Entity}, {&out.Patient, r.prev.Patient},
		{&out.Subtype, r.prev.Subtype}, {&action, string(r.prev.Action)}, {&outcome, string(r.prev.Outcome)}} {
		s, ok := r.rep(f.prev, first)
		if !ok {
			r.err = errAuditBlock
			return false
		}
		*f.dst = s
	}
	out.Action, out.Outcome = socialrx.AuditAction(action), socialrx.AuditOutcome(outcome)
	body, ok := r.bytes()
	if !ok {
		r.err = errAuditBlock
		return false
	}
	out.Body = body
	if out.Body == nil {
		out.Body = []byte{}
	}
	r.prev = out
	r.n--
	r.done++
	*rec = out
	return true
}

// Err is the error that stopped next, nil at a clean end.
func (r *auditBlockReader) Err() error { return r.err }

// decodeAuditBlock decodes a whole block.
func decodeAuditBlock(data []byte) ([]socialrx.AuditRecord, error) {
	r := newAuditBlockReader(data)
	out := make([]socialrx.AuditRecord, 0, r.n)
	var rec socialrx.AuditRecord
	for r.next(&rec) {
		out = append(out, rec)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
