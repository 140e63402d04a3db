package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/socialrx/socialrx"
)

// The buffered audit trail in blocks (issue 13; tables in migrations
// 00012_audit_blocks, PostgreSQL, and the SQLite audit file's
// 00010_audit_blocks). Every batch AppendAuditLog receives is one row of
// audit_blocks (batches of more than auditBlockMax records are cut), its
// records encoded by appendAuditBlock: a few B-tree entries per batch
// instead of five per event, which is what an audited read paid (16-20 µs
// of CPU per event, docs/performance.md).
//
// Blocks are indexed, not events: audit_block_keys has a row (key, block,
// n) per distinct key of a block (auditKeys: agent, entity or patient
// entity, patient, id prefix) with n its events that have it. Keys are not
// written with every block (each append would touch random pages of the
// key B-tree: on SQLite a 4 KB WAL page each): the append that brings the
// blocks without keys to Options.AuditKeyEvery events or more writes the
// keys of them all, sorted, in its transaction, and moves the mark
// (audit_block_mark.keyed, the last block with keys). Searches and reads
// take the blocks with keys from their keys and read every block after
// the mark whole.
//
//	audit_blocks:     1 .. keyed (keys written) | keyed+1 .. next-1 (read whole)
//
// Appends are serialized (the mark's row FOR UPDATE on PostgreSQL, the
// audit file's single writer on SQLite), so block numbers are handed out
// in commit order.
//
// Ids: AppendAuditLog refuses (ECONFLICT) an id already in a block, or
// twice in its batch. It decodes only the blocks whose [min_id, max_id]
// can hold one of the batch's ids among those with the ids' prefixes
// (keys "i|") and those without keys: the Auditor's UUIDv7 ids grow with
// time, so that is the last block or none. Records appended before the
// blocks (audit_events, SQLite's audit_tail) are not checked.

// AuditKeyEvery is the default of Options.AuditKeyEvery.
const AuditKeyEvery = 4096

// auditBlockMax is the most records in one block: seq is block<<16 | index.
const auditBlockMax = 1<<16 - 1

// auditBlockSrc is the search source (auditKey.src) of the blocks.
const auditBlockSrc = 2

// auditIDPrefixesMax is the most id prefixes of a batch whose keys the id
// check looks up (the Auditor's UUIDv7 ids of a batch have one or two).
const auditIDPrefixesMax = 256

// auditKeyChunk is the most key rows one INSERT carries (3 parameters
// each); chunks of 256, 128, ... 1 rows, as InsertAudit does.
const auditKeyChunk = 256

// AuditBlockDriver is a Driver that keeps the buffered audit trail in
// audit_blocks, written through a connection of its own (SQLite: the audit
// file's writer, outside the group commit; PostgreSQL: a pool of one
// connection, apart from the API's).
type AuditBlockDriver interface {
	// AuditBlockReader runs reads on the database of audit_blocks.
	AuditBlockReader() Querier
	// AuditBlockTx runs fn in a read-write transaction on the audit
	// trail's connection and commits it when fn returns nil; errors
	// untranslated.
	AuditBlockTx(ctx context.Context, fn func(q Querier) error) error
}

// auditBlocks returns the driver's audit blocks, nil when it has none.
func (e *Engine) auditBlocks() AuditBlockDriver {
	b, _ := e.drv.(AuditBlockDriver)
	return b
}

// auditIDPrefix is an id's key prefix: for a UUIDv7 the first 40 bits of
// its time (256 ms), so that a block has one or two.
func auditIDPrefix(id string) string { return "i|" + id[:min(len(id), 11)] }

// auditKeys calls fn with each key of rec, once each: a|agent, e|entity,
// e|patient (the entity search finds both), p|patient, i|id prefix.
func auditKeys(rec *socialrx.AuditRecord, fn func(key string)) {
	fn("a|" + rec.Agent)
	if rec.Entity != "" {
		fn("e|" + rec.Entity)
	}
	if rec.Patient != "" {
		if rec.Patient != rec.Entity {
			fn("e|" + rec.Patient)
		}
		fn("p|" + rec.Patient)
	}
	fn(auditIDPrefix(rec.ID))
}

// auditBlockRow is a key row to insert.
type auditBlockRow struct {
	key   string
	block int64
	n     int
}

// appendAuditBlocks appends records as blocks (see AuditBlockDriver).
func (e *Engine) appendAuditBlocks(ctx context.Context, d AuditBlockDriver, records []socialrx.AuditRecord) error {
	return d.AuditBlockTx(ctx, func(q Querier) error {
		lock := ""
		if e.d.Name == "postgres" {
			lock = " FOR UPDATE"
		}
		var keyed, next, pending int64
		var maxID string
		if err := q.QueryRow(ctx, `SELECT keyed, next, pending, max_id FROM audit_block_mark`+lock).Scan(&keyed, &next, &pending, &maxID); err != nil {
			return err
		}
		batchMax, err := auditIDsFree(ctx, q, keyed, maxID, records)
		if err != nil {
			return err
		}
		first := next
		var buf []byte
		for rest := records; len(rest) > 0; {
			chunk := rest[:min(len(rest), auditBlockMax)]
			rest = rest[len(chunk):]
			lo, hi := chunk[0].Recorded.UnixMicro(), chunk[0].Recorded.UnixMicro()
			minID, maxID := chunk[0].ID, chunk[0].ID
			for i := range chunk {
				us := chunk[i].Recorded.UnixMicro()
				lo, hi = min(lo, us), max(hi, us)
				minID, maxID = min(minID, chunk[i].ID), max(maxID, chunk[i].ID)
			}
			buf = appendAuditBlock(buf[:0], chunk)
			if _, err := q.Exec(ctx, `INSERT INTO audit_blocks (block, n, min_recorded, max_recorded, min_id, max_id, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				next, len(chunk), lo, hi, minID, maxID, buf); err != nil {
				return err
			}
			next++
		}
		pending += int64(len(records))
		if pending >= int64(e.opts.AuditKeyEvery) {
			if err := e.keyAuditBlocks(ctx, q, keyed, first, records); err != nil {
				return err
			}
			keyed, pending = next-1, 0
		}
		_, err = q.Exec(ctx, `UPDATE audit_block_mark SET keyed = $1, next = $2, pending = $3, max_id = $4`, keyed, next, pending, max(maxID, batchMax))
		return err
	})
}

// keyAuditBlocks writes the keys of the group of blocks after keyed,
// named by its last block, first+ blocks of records - 1: the blocks
// before first read from the table, those from first on are records
// (this append's).
func (e *Engine) keyAuditBlocks(ctx context.Context, q Querier, keyed, first int64, records []socialrx.AuditRecord) error {
	last := first + int64((len(records)-1)/auditBlockMax)
	counts := map[string]int{} // key → n
	add := func(_ int64, rec *socialrx.AuditRecord) {
		auditKeys(rec, func(key string) { counts[key]++ })
	}
	err := eachBlockRecord(ctx, q, `SELECT block, data FROM audit_blocks WHERE block > $1 AND block < $2`, []any{keyed, first},
		func(block int64, _ int, rec *socialrx.AuditRecord) bool { add(block, rec); return true })
	if err != nil {
		return err
	}
	for i := range records {
		add(first+int64(i/auditBlockMax), &records[i])
	}
	if _, err := q.Exec(ctx, `INSERT INTO audit_block_groups (last, first) VALUES ($1, $2)`, last, keyed+1); err != nil {
		return err
	}
	out := make([]auditBlockRow, 0, len(counts))
	for k, n := range counts {
		out = append(out, auditBlockRow{key: k, block: last, n: n})
	}
	slices.SortFunc(out, func(a, b auditBlockRow) int { return strings.Compare(a.key, b.key) })
	question := e.d.Name == "sqlite"
	args := make([]any, 0, 3*auditKeyChunk)
	for len(out) > 0 {
		n := auditKeyChunk
		for n > len(out) {
			n /= 2
		}
		args = args[:0]
		for _, r := range out[:n] {
			args = append(args, r.key, r.block, r.n)
		}
		if _, err := q.Exec(ctx, auditKeyInserts[question][n], args...); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// auditKeyInserts are the INSERT statements of 1, 2, 4, ... auditKeyChunk
// key rows, with ? placeholders (true: SQLite, INSERT OR FAIL as
// auditStatements says) or $n.
var auditKeyInserts = map[bool]map[int]string{false: auditKeyStatements(false), true: auditKeyStatements(true)}

func auditKeyStatements(question bool) map[int]string {
	return multiInserts("audit_block_keys (key, block, n)", 3, auditKeyChunk, question)
}

// auditIDsFree returns ECONFLICT when an id of records is twice among
// them or already in a block (see the comment at the top), and the
// greatest id of records. maxID is the greatest id of the blocks: a batch
// of greater ids (the Auditor's UUIDv7s, next batch) is not looked up.
func auditIDsFree(ctx context.Context, q Querier, keyed int64, maxID string, records []socialrx.AuditRecord) (string, error) {
	ids := make(map[string]struct{}, len(records))
	lo, hi := records[0].ID, records[0].ID
	for i := range records {
		id := records[i].ID
		if _, ok := ids[id]; ok {
			return "", socialrx.Errorf(socialrx.ECONFLICT, "already exists")
		}
		ids[id] = struct{}{}
		lo, hi = min(lo, id), max(hi, id)
	}
	if lo > maxID {
		return hi, nil
	}
	return hi, auditIDsTaken(ctx, q, keyed, lo, hi, ids)
}

// auditIDsTaken returns ECONFLICT when a block holds one of ids (of the
// range minID .. maxID).
func auditIDsTaken(ctx context.Context, q Querier, keyed int64, minID, maxID string, ids map[string]struct{}) error {
	prefixes := map[string]struct{}{}
	for id := range ids {
		prefixes[auditIDPrefix(id)] = struct{}{}
	}
	args := []any{minID, maxID, keyed}
	var in []string
	for p := range prefixes {
		args = append(args, p)
		in = append(in, "$"+strconv.Itoa(len(args)))
	}
	sql := `SELECT block, data FROM audit_blocks WHERE block > $3 AND max_id >= $1 AND min_id <= $2
UNION ALL SELECT b.block, b.data FROM audit_block_groups g CROSS JOIN audit_blocks b
WHERE b.block BETWEEN g.first AND g.last AND g.last IN (SELECT block FROM audit_block_keys WHERE key IN (` + strings.Join(in, ", ") + `)) AND b.max_id >= $1 AND b.min_id <= $2`
	if len(prefixes) > auditIDPrefixesMax {
		// Ids of no common prefix (not the Auditor's): every block whose
		// id range meets the batch's (a scan of audit_blocks).
		sql, args = `SELECT block, data FROM audit_blocks WHERE max_id >= $1 AND min_id <= $2`, args[:2]
	}
	conflict := false
	err := eachBlockRecord(ctx, q, sql, args, func(_ int64, _ int, rec *socialrx.AuditRecord) bool {
		_, conflict = ids[rec.ID]
		return !conflict
	})
	if err != nil {
		return err
	}
	if conflict {
		return socialrx.Errorf(socialrx.ECONFLICT, "already exists")
	}
	return nil
}

// readAuditBlock finds the record of id in the blocks: those without
// keys and those with the id's prefix key, whose id range holds it.
func readAuditBlock(ctx context.Context, q Querier, id string) (socialrx.AuditRecord, bool, error) {
	var found socialrx.AuditRecord
	ok := false
	err := eachBlockRecord(ctx, q, `SELECT block, data FROM audit_blocks WHERE block > (SELECT keyed FROM audit_block_mark) AND min_id <= $1 AND max_id >= $1
UNION ALL SELECT b.block, b.data FROM audit_block_groups g CROSS JOIN audit_blocks b
WHERE b.block BETWEEN g.first AND g.last AND g.last IN (SELECT block FROM audit_block_keys WHERE key = $2) AND b.min_id <= $1 AND b.max_id >= $1`,
		[]any{id, auditIDPrefix(id)}, func(_ int64, _ int, rec *socialrx.AuditRecord) bool {
			if rec.ID == id {
				found, ok = *rec, true
			}
			return !ok
		})
	return found, ok, err
}

// eachBlockRecord runs query, which selects (block, data) rows of
// audit_blocks, and calls fn with every record of every block, in order
// (i: the record's place in its block) until fn returns false.
func eachBlockRecord(ctx context.Context, q Querier, query string, args []any, fn func(block int64, i int, rec *socialrx.AuditRecord) bool) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var block int64
		var data []byte
		if err := rows.Scan(&block, &data); err != nil {
			return err
		}
		r := newAuditBlockReader(data)
		var rec socialrx.AuditRecord
		for i := 0; r.next(&rec); i++ {
			if !fn(block, i, &rec) {
				return nil
			}
		}
		if err := r.Err(); err != nil {
			return fmt.Errorf("audit block %d: %w", block, err)
		}
	}
	return rows.Err()
}
