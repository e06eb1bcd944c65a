package store

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"
)

// AgentVerification is the evidence of an agent's current verification.
type AgentVerification struct {
	AgentID string
	// Type is eas, coinbase, ens or webauthn.
	Type string
	// AttestationUID is the EAS uid (0x hex) for eas and coinbase, the name
	// for ens, and the wallet for webauthn.
	AttestationUID string
	// VerifierAddress is the wallet that proved the verification (lower-case
	// 0x hex), or the attester for an eas verification without a wallet.
	VerifierAddress string
	// Metadata is what the chain answered, as JSON.
	Metadata   json.RawMessage
	VerifiedAt time.Time
}

var challengeCount atomic.Int64

// SetAgentVerification records v as the agent's verification, replacing any
// earlier one. ErrNotFound when the agent is not userID's.
func (s *Store) SetAgentVerification(ctx context.Context, userID string, v AgentVerification) error {
	meta := string(v.Metadata)
	if meta == "" {
		meta = "{}"
	}
	return s.write(ctx, userID, func(q querier) error {
		var n int64
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM agents WHERE id = $1 AND user_id = $2`, v.AgentID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err := q.Exec(ctx, `INSERT INTO agent_verifications
			(agent_id, user_id, type, attestation_uid, verifier_address, metadata, verified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (agent_id) DO UPDATE SET type = excluded.type, attestation_uid = excluded.attestation_uid,
				verifier_address = excluded.verifier_address, metadata = excluded.metadata, verified_at = excluded.verified_at`,
			v.AgentID, userID, v.Type, v.AttestationUID, v.VerifierAddress, meta, v.VerifiedAt.UTC())
		return err
	})
}

// AgentVerification returns the agent's verification; ErrNotFound when it
// has none (or is not userID's).
func (s *Store) AgentVerification(ctx context.Context, userID, agentID string) (*AgentVerification, error) {
	var v AgentVerification
	var meta string
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT agent_id, type, attestation_uid, verifier_address, metadata, verified_at
			FROM agent_verifications WHERE agent_id = $1 AND user_id = $2`, agentID, userID).
			Scan(&v.AgentID, &v.Type, &v.AttestationUID, &v.VerifierAddress, &meta, &v.VerifiedAt)
	})
	if err != nil {
		return nil, err
	}
	v.Metadata = json.RawMessage(meta)
	return &v, nil
}

// DeleteAgentVerification removes the agent's verification and reports
// whether there was one.
func (s *Store) DeleteAgentVerification(ctx context.Context, userID, agentID string) (bool, error) {
	var n int64
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `DELETE FROM agent_verifications WHERE agent_id = $1 AND user_id = $2`, agentID, userID)
		return err
	})
	return n > 0, err
}

// CreateVerifyChallenge stores the digest of a challenge for the agent,
// usable once by userID until expires. ErrNotFound when the agent is not
// userID's.
func (s *Store) CreateVerifyChallenge(ctx context.Context, userID, agentID string, hash []byte, expires time.Time) error {
	now := s.now()
	return s.write(ctx, userID, func(q querier) error {
		if challengeCount.Add(1)%purgeEvery == 0 {
			if _, err := q.Exec(ctx, `DELETE FROM agent_verify_challenges WHERE expires_at < $1`, now); err != nil {
				return err
			}
		}
		var n int64
		if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM agents WHERE id = $1 AND user_id = $2`, agentID, userID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		_, err := q.Exec(ctx, `INSERT INTO agent_verify_challenges (challenge_hash, agent_id, user_id, expires_at)
			VALUES ($1, $2, $3, $4)`, hash, agentID, userID, expires.UTC())
		return err
	})
}

// VerifyChallengeUsable reports whether the challenge is the agent's, unused
// and unexpired, without using it.
func (s *Store) VerifyChallengeUsable(ctx context.Context, userID, agentID string, hash []byte) (bool, error) {
	var n int64
	err := s.readOne(ctx, userID, func(q querier) error {
		return q.QueryRow(ctx, `SELECT COUNT(*) FROM agent_verify_challenges
			WHERE challenge_hash = $1 AND agent_id = $2 AND user_id = $3 AND expires_at > $4`,
			hash, agentID, userID, s.now()).Scan(&n)
	})
	return n == 1, err
}

// ConsumeVerifyChallenge uses the challenge: true for exactly one caller, and
// only while it is the agent's and unexpired.
func (s *Store) ConsumeVerifyChallenge(ctx context.Context, userID, agentID string, hash []byte) (bool, error) {
	var n int64
	err := s.write(ctx, userID, func(q querier) error {
		var err error
		n, err = q.Exec(ctx, `DELETE FROM agent_verify_challenges
			WHERE challenge_hash = $1 AND agent_id = $2 AND user_id = $3 AND expires_at > $4`,
			hash, agentID, userID, s.now())
		return err
	})
	return n == 1, err
}
