package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// The idempotency records of httpapi (Idempotency-Key): one row per
// (scope, key hash), an answer once the first request succeeded, and an
// expiry after which the row is deleted and the key may be used afresh.

// ClaimIdempotencyKey records that the request with fingerprint starts
// under (scope, keyHash), unless a live record exists: then it returns
// that record's fingerprint and answer (nil while its request still runs)
// and claimed false. Expired records of every scope are deleted first.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, scope, keyHash, fingerprint string, now, expires time.Time) (prevFingerprint string, answer []byte, claimed bool, err error) {
	err = s.db.Write(ctx, func(tx Tx) error {
		if _, err := s.exec(ctx, tx, `DELETE FROM idempotency_keys WHERE expires_at <= ?`, micros(now)); err != nil {
			return err
		}
		rows, err := s.query(ctx, tx, `SELECT fingerprint, answer FROM idempotency_keys WHERE scope = ? AND key_hash = ?`, scope, keyHash)
		if err != nil {
			return err
		}
		found := false
		var ans sql.NullString
		for rows.Next() {
			if err := rows.Scan(&prevFingerprint, &ans); err != nil {
				rows.Close()
				return err
			}
			found = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if found {
			if ans.Valid {
				answer = []byte(ans.String)
			}
			return nil
		}
		_, err = s.exec(ctx, tx, `INSERT INTO idempotency_keys (scope, key_hash, fingerprint, answer, expires_at) VALUES (?, ?, ?, NULL, ?)`,
			scope, keyHash, fingerprint, micros(expires))
		if err != nil {
			return err
		}
		claimed = true
		return nil
	})
	if err != nil && s.d.IsUniqueViolation != nil && s.d.IsUniqueViolation(err) {
		// Another node claimed the key between our read and insert: its
		// request runs.
		return fingerprint, nil, false, nil
	}
	return prevFingerprint, answer, claimed, err
}

// CompleteIdempotencyKey stores the answer of the request that claimed
// (scope, keyHash).
func (s *Store) CompleteIdempotencyKey(ctx context.Context, scope, keyHash string, answer []byte) error {
	return s.db.Write(ctx, func(tx Tx) error {
		_, err := s.exec(ctx, tx, `UPDATE idempotency_keys SET answer = ? WHERE scope = ? AND key_hash = ?`, string(answer), scope, keyHash)
		return err
	})
}

// ReleaseIdempotencyKey forgets (scope, keyHash): its request failed, and
// a retry runs afresh.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, keyHash string) error {
	return s.db.Write(ctx, func(tx Tx) error {
		_, err := s.exec(ctx, tx, `DELETE FROM idempotency_keys WHERE scope = ? AND key_hash = ? AND answer IS NULL`, scope, keyHash)
		return err
	})
}
