// Command setlist-oracle is the shipped skill that builds and checks DJ
// sets. Actions (POST /api/skills/setlist-oracle {action, …}):
//
//	build {genre?=techno, duration?=60 (minutes), tracks?[]}
//	      → {success, genre, setlist[{position, title, artist, bpm, energy, camelotKey, harmonicKey, …}],
//	         stats{totalTracks, duration, avgBpm, avgEnergy, energyCurve, …}, note?}
//	analyze {tracks[]}
//	      → {success, setlist, stats, keyClashes, bpmJumps, summary}
//
// A track is {title, artist, bpm, key, energy 1–10, durationSec?=360}, with
// the key on the Camelot wheel ("8A") or musical ("Am", "F#", "Bbm"). Without
// tracks, build draws on a built-in library of 32 tracks (techno, house,
// drumnbass, ambient). build picks enough tracks to fill the duration, spread
// over the crate's energies, and orders them along an energy curve (warm-up,
// peak at 70 % of the set, cool-down) preferring harmonic mixes (same key,
// ±1 on the wheel, or the A↔B switch) and small tempo changes; harmonicKey
// says whether a track mixes harmonically out of the previous one. analyze
// keeps the given order and reports key clashes and tempo jumps over 8 %.
//
// The skill is pure computation: no state, deterministic output.
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o setlist-oracle.wasm .
package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/agentbot/gateway/sdk/skill"
)

func main() {}

func init() {
	skill.Route(map[string]skill.HandlerFunc{
		"build":   build,
		"analyze": analyze,
	})
}

func build(c *skill.Call) error {
	var in struct {
		Genre    string    `json:"genre"`
		Duration *float64  `json:"duration"`
		Tracks   []trackIn `json:"tracks"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	minutes := 60.0
	if in.Duration != nil {
		if *in.Duration < 1 || *in.Duration > 600 {
			return invalid("duration must be between 1 and 600 minutes")
		}
		minutes = *in.Duration
	}
	target := int(math.Round(minutes * 60))

	var crate []track
	genre := ""
	if in.Tracks != nil {
		if len(in.Tracks) == 0 {
			return skill.Failf("MISSING_FIELD", 400, "tracks is empty: pass at least one track, or none to use the library")
		}
		var err error
		if crate, err = parseTracks(in.Tracks); err != nil {
			return err
		}
		genre = strings.TrimSpace(in.Genre)
	} else {
		genre = "techno"
		if g := strings.TrimSpace(in.Genre); g != "" {
			var ok bool
			if genre, ok = genreAliases[normalizeGenre(g)]; !ok {
				return invalid("genre %q is not in the library (want %s), or pass your own tracks", g, strings.Join(genres, ", "))
			}
		}
		for _, t := range library {
			if t.Genre == genre {
				crate = append(crate, t)
			}
		}
	}

	set := plan(crate, target)
	entries, st := describe(set)
	c.Logf(skill.LevelInfo, "built a %d-track %s set of %.1f min from %d tracks", st.TotalTracks, genre, st.Duration, len(crate))
	out := map[string]any{"success": true, "genre": genre, "requestedDuration": round1(minutes), "setlist": entries, "stats": st}
	if total := totalSec(set); total < target {
		source := "your tracks"
		if in.Tracks == nil {
			source = "the " + genre + " library"
		}
		out["note"] = fmt.Sprintf("All of %s only fill %.1f of the %g minutes asked for; pass more tracks for a longer set.",
			source, float64(total)/60, round1(minutes))
	}
	return c.OutputJSON(out)
}

func analyze(c *skill.Call) error {
	var in struct {
		Tracks []trackIn `json:"tracks"`
	}
	if err := c.InputJSON(&in); err != nil {
		return err
	}
	if len(in.Tracks) == 0 {
		return skill.Failf("MISSING_FIELD", 400, "tracks is required (at least one track)")
	}
	set, err := parseTracks(in.Tracks)
	if err != nil {
		return err
	}
	entries, st := describe(set)
	clashes, jumps := problems(set)
	c.Logf(skill.LevelInfo, "analyzed a %d-track set: %d key clashes, %d BPM jumps", len(set), len(clashes), len(jumps))
	summary := "Clean set: every mix is harmonic and no tempo change is over 8%."
	if len(clashes)+len(jumps) > 0 {
		summary = fmt.Sprintf("%d key clash(es) and %d BPM jump(s) over 8%% in %d transition(s).", len(clashes), len(jumps), st.Transitions)
	}
	return c.OutputJSON(map[string]any{"success": true, "setlist": entries, "stats": st,
		"keyClashes": clashes, "bpmJumps": jumps, "summary": summary})
}

func normalizeGenre(g string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '_', '&', '\'', '’':
			return -1
		}
		return r
	}, strings.ToLower(g))
}
