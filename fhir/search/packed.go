package search

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math"
	"slices"
	"time"
	"unsafe"
)

// Entries are the index entries of one resource, packed: each entry is a
// record of the fields it sets in one byte slice. A token entry of a
// system and a code takes about 20 bytes so, where an IndexEntry takes
// 216 and its strings more; a resource of 260,000 identifiers held 54 MB
// of IndexEntry values at once, most of the peak of the request writing it
// (docs/performance.md, "Memory per request"). The store unpacks them a
// chunk at a time (Unpack). The zero value and nil hold no entries.
type Entries struct {
	params []packedParam // the distinct (Param, Type) of the entries
	arena  []byte
	offs   []int32 // record i is arena[offs[i]:offs[i+1]]
}

// packedParam is a parameter name and type, shared by its records.
type packedParam struct {
	name string
	typ  ParamType
}

// The fields a record holds (its flags).
const (
	fSystem = 1 << iota
	fCode
	fText
	fRefType
	fRefID
	fValue
	fExact
	fLow
	fHigh
	fNumber
	fLat
	fLon
)

// Len returns the number of entries.
func (es *Entries) Len() int {
	if es == nil || len(es.offs) == 0 {
		return 0
	}
	return len(es.offs) - 1
}

// Unpack appends entries [from, to) to dst and returns it.
func (es *Entries) Unpack(dst []IndexEntry, from, to int) []IndexEntry {
	for i := from; i < to; i++ {
		dst = append(dst, es.entry(i))
	}
	return dst
}

// All returns every entry, in order (nil for nil Entries).
func (es *Entries) All() []IndexEntry {
	if es == nil {
		return nil
	}
	return es.Unpack(make([]IndexEntry, 0, es.Len()), 0, es.Len())
}

// Pack packs entries (any: their parameters need not be of one type).
func Pack(entries []IndexEntry) *Entries {
	es := &Entries{}
	index := map[packedParam]int{}
	for i := range entries {
		e := &entries[i]
		k := packedParam{e.Param, e.Type}
		pi, ok := index[k]
		if !ok {
			pi = len(es.params)
			index[k] = pi
			es.params = append(es.params, k)
		}
		es.add(e, pi)
	}
	return es
}

// add appends e as a record of parameter pi (an index into es.params, whose
// name and type e has).
func (es *Entries) add(e *IndexEntry, pi int) {
	if len(es.offs) == 0 {
		es.offs = append(es.offs, 0)
	}
	var f uint64
	for i, s := range [...]string{e.System, e.Code, e.Text, e.RefType, e.RefID, e.Value, e.Exact} {
		if s != "" {
			f |= 1 << i
		}
	}
	if e.Low != (time.Time{}) {
		f |= fLow
	}
	if e.High != (time.Time{}) {
		f |= fHigh
	}
	for i, x := range [...]float64{e.Number, e.Lat, e.Lon} {
		// -0 is packed as 0, as == compares them
		if x != 0 {
			f |= fNumber << i
		}
	}
	// Room at least doubles (append's 1.25x steps allocated ~5 times the
	// records of a long run).
	need := 48 + len(e.System) + len(e.Code) + len(e.Text) + len(e.RefType) + len(e.RefID) + len(e.Value) + len(e.Exact)
	if cap(es.arena)-len(es.arena) < need {
		es.arena = slices.Grow(es.arena, max(need, len(es.arena)))
	}
	if cap(es.offs) == len(es.offs) {
		es.offs = slices.Grow(es.offs, len(es.offs))
	}
	b := binary.AppendUvarint(es.arena, uint64(pi))
	b = binary.AppendUvarint(b, f)
	for i, s := range [...]string{e.System, e.Code, e.Text, e.RefType, e.RefID, e.Value, e.Exact} {
		if f&(1<<i) != 0 {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
	}
	for i, t := range [...]time.Time{e.Low, e.High} {
		if f&(fLow<<i) != 0 {
			b = binary.AppendVarint(b, t.Unix())
			b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
		}
	}
	for i, x := range [...]float64{e.Number, e.Lat, e.Lon} {
		if f&(fNumber<<i) != 0 {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
	}
	es.arena = b
	es.offs = append(es.offs, int32(len(b)))
}

// record returns the bytes of entry i.
func (es *Entries) record(i int) []byte { return es.arena[es.offs[i]:es.offs[i+1]] }

// entry unpacks entry i. Times are UTC (as Index makes them).
func (es *Entries) entry(i int) IndexEntry {
	r := recReader{es.record(i)}
	p := es.params[r.uvarint()]
	e := IndexEntry{Param: p.name, Type: p.typ}
	f := r.uvarint()
	for k, s := range [...]*string{&e.System, &e.Code, &e.Text, &e.RefType, &e.RefID, &e.Value, &e.Exact} {
		if f&(1<<k) != 0 {
			*s = r.str()
		}
	}
	for k, t := range [...]*time.Time{&e.Low, &e.High} {
		if f&(fLow<<k) != 0 {
			sec := int64(r.varint())
			*t = time.Unix(sec, int64(r.uvarint())).UTC()
		}
	}
	for k, x := range [...]*float64{&e.Number, &e.Lat, &e.Lon} {
		if f&(fNumber<<k) != 0 {
			*x = math.Float64frombits(binary.LittleEndian.Uint64(r.b))
			r.b = r.b[8:]
		}
	}
	return e
}

// recReader reads a record.
type recReader struct{ b []byte }

func (r *recReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	r.b = r.b[n:]
	return v
}

func (r *recReader) varint() int64 {
	v, n := binary.Varint(r.b)
	r.b = r.b[n:]
	return v
}

// str reads a string. It aliases the arena, which is never changed once
// Index has returned (records are only moved by keep, during indexing; add
// only appends): an unpacked entry's strings cost nothing, and keep the
// arena alive while they are.
func (r *recReader) str() string {
	n := r.uvarint()
	var s string
	if n > 0 {
		s = unsafe.String(&r.b[0], int(n))
	}
	r.b = r.b[n:]
	return s
}

// keep keeps the records for which keep(i) is true, in order, and returns
// how many it dropped. It moves records in the arena: entries unpacked
// before it (their strings alias the arena: recReader.str) must not be used
// after it; it runs only while Index builds the records. keep sees the records before any is moved, in
// order; records it kept are at their new places by then.
func (es *Entries) keep(from int, keep func(i, w int) bool) int {
	n := es.Len()
	w := from
	wo := es.offs[from]
	for r := from; r < n; r++ {
		start, end := es.offs[r], es.offs[r+1]
		if !keep(r, w) {
			continue
		}
		copy(es.arena[wo:], es.arena[start:end])
		es.offs[w] = wo
		wo += end - start
		es.offs[w+1] = wo
		w++
	}
	es.arena = es.arena[:wo]
	es.offs = es.offs[:w+1]
	return n - w
}

// dedupeFrom removes the records from index start on equal to an earlier
// one from start on, keeping the first.
func (es *Entries) dedupeFrom(start int) {
	n := es.Len()
	if n-start < 2 {
		return
	}
	if n-start <= 32 {
		es.keep(start, func(r, w int) bool {
			rec := es.record(r)
			for k := start; k < w; k++ {
				if bytes.Equal(es.record(k), rec) {
					return false
				}
			}
			return true
		})
		return
	}
	// Many values (a long array): a set keeps this linear. It holds
	// hashes, not records; two different records with one hash are told
	// apart by comparing.
	first := make(map[uint64]int32, n-start)
	es.keep(start, func(r, w int) bool {
		rec := es.record(r)
		sum := hashRecord(rec)
		k, seen := first[sum]
		if seen && (bytes.Equal(es.record(int(k)), rec) || es.containsRecord(start, w, rec)) {
			return false
		}
		if !seen {
			first[sum] = int32(w)
		}
		return true
	})
}

// containsRecord reports whether a record in [from, to) is rec (the rare
// case of two different records with one hash).
func (es *Entries) containsRecord(from, to int, rec []byte) bool {
	for k := from; k < to; k++ {
		if bytes.Equal(es.record(k), rec) {
			return true
		}
	}
	return false
}

// hashRecord is recordHash (a test makes every hash collide).
var hashRecord = recordHash

// dedupeSeed seeds the hashes of dedupeFrom.
var dedupeSeed = maphash.MakeSeed()

func recordHash(rec []byte) uint64 { return maphash.Bytes(dedupeSeed, rec) }
