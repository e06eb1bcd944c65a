package agents

import (
	"errors"
	"net/http"

	"github.com/julienschmidt/httprouter"

	"github.com/agentbot/gateway/core/api"
	"github.com/agentbot/gateway/core/billing"
	"github.com/agentbot/gateway/core/store"
)

type installInput struct {
	SkillID string `json:"skillId" required:"true"`
	AgentID string `json:"agentId" required:"true"`
	Version string `json:"version"`
	Upgrade bool   `json:"upgrade"`
}

func (in installInput) check() error {
	switch {
	case in.SkillID == "":
		return api.Validation("skillId required")
	case in.AgentID == "":
		return api.Validation("agentId required")
	case len(in.SkillID) > 64 || len(in.Version) > 80:
		return api.Validation("skillId or version is too long")
	}
	return nil
}

func skillErr(err error) error {
	switch {
	case errors.Is(err, store.ErrNotInstalled):
		return api.Errorf(http.StatusNotFound, api.CodeSkillNotInstalled, "The skill is not installed on this agent")
	case errors.Is(err, store.ErrNotFound):
		return api.Errorf(http.StatusNotFound, api.CodeSkillNotFound, "No such skill or version")
	}
	return err
}

// install: POST /api/skills. An install pins a version (the latest unless
// one is named); a newer version is an explicit upgrade.
func (s *Service) install(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	var in installInput
	if err := api.Decode(r, &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	a, err := s.agent(r.Context(), p.UserID, in.AgentID)
	if err != nil {
		return err
	}
	if in.Upgrade {
		is, err := s.Store.UpgradeSkill(r.Context(), p.UserID, a.ID, in.SkillID, in.Version)
		if err != nil {
			return skillErr(err)
		}
		api.OK(w, map[string]any{"success": true, "skillId": is.Skill, "agentId": a.ID, "version": is.Version, "upgraded": true})
		return nil
	}
	is, installed, err := s.installFor(r, a, in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if installed {
		status = http.StatusCreated
	}
	api.JSON(w, status, map[string]any{"success": true, "skillId": is.Skill, "agentId": a.ID, "version": is.Version,
		"latest": is.Latest, "installed": installed})
	return nil
}

// installFor installs in.SkillID on a, within the caller's plan allowance.
func (s *Service) installFor(r *http.Request, a *store.Agent, in installInput) (*store.InstalledSkill, bool, error) {
	p := principal(r)
	plan, active, err := s.plan(r, p)
	if err != nil {
		return nil, false, err
	}
	limit := int64(billing.Unlimited)
	if !p.Admin {
		if !active {
			return nil, false, api.Errorf(http.StatusPaymentRequired, api.CodePaymentRequired, "Active subscription required to install skills")
		}
		limit = int64(plan.SkillsPerAgent)
	}
	is, installed, err := s.Store.InstallSkill(r.Context(), p.UserID, a.ID, in.SkillID, in.Version, limit)
	var le *store.SkillLimitError
	switch {
	case errors.As(err, &le):
		return nil, false, api.Errorf(http.StatusTooManyRequests, api.CodeTierLimit, "Skill limit reached for %s tier (%d per agent)", plan.Name, le.Limit).
			With("current", le.Current).With("limit", le.Limit)
	case err != nil:
		return nil, false, skillErr(err)
	}
	return is, installed, nil
}

// uninstall: DELETE /api/skills with a body or query parameters.
func (s *Service) uninstall(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	p := principal(r)
	in := installInput{SkillID: r.URL.Query().Get("skillId"), AgentID: r.URL.Query().Get("agentId")}
	if in.SkillID == "" && in.AgentID == "" {
		if err := api.Decode(r, &in); err != nil {
			return err
		}
	}
	if err := in.check(); err != nil {
		return err
	}
	a, err := s.agent(r.Context(), p.UserID, in.AgentID)
	if err != nil {
		return err
	}
	if err := s.Store.UninstallSkill(r.Context(), p.UserID, a.ID, in.SkillID); err != nil {
		return skillErr(err)
	}
	api.OK(w, map[string]any{"success": true, "skillId": in.SkillID, "agentId": a.ID})
	return nil
}
