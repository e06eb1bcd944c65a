package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/agentbot/gateway/sdk/skill"
)

// track is one track of a crate or a set.
type track struct {
	Title       string
	Artist      string
	Genre       string
	BPM         float64
	Key         string // as given
	Camelot     camelot
	Energy      int // 1–10
	DurationSec int
}

// trackIn is a track as callers send it.
type trackIn struct {
	Title       string   `json:"title"`
	Artist      string   `json:"artist"`
	BPM         *float64 `json:"bpm"`
	Key         string   `json:"key"`
	Energy      *float64 `json:"energy"`
	DurationSec *float64 `json:"durationSec"`
}

const (
	maxTracks          = 200
	defaultDurationSec = 360
	// peakAt is where the energy curve peaks, as a fraction of the set.
	peakAt = 0.7
	// bpmJumpPct is the tempo change between neighbours that analyze flags.
	bpmJumpPct = 8.0
)

func invalid(format string, args ...any) error {
	return skill.Failf("INVALID_FIELD", 400, format, args...)
}

// parseTracks validates the caller's tracks.
func parseTracks(in []trackIn) ([]track, error) {
	if len(in) > maxTracks {
		return nil, invalid("tracks may hold at most %d tracks", maxTracks)
	}
	out := make([]track, len(in))
	for i, t := range in {
		f := fmt.Sprintf("tracks[%d]", i)
		tr := track{Title: strings.TrimSpace(t.Title), Artist: strings.TrimSpace(t.Artist), Key: strings.TrimSpace(t.Key)}
		if tr.Title == "" {
			return nil, skill.Failf("MISSING_FIELD", 400, "%s.title is required", f)
		}
		if utf8.RuneCountInString(tr.Title) > 200 || utf8.RuneCountInString(tr.Artist) > 200 {
			return nil, invalid("%s: title and artist must be at most 200 characters", f)
		}
		if tr.Artist == "" {
			tr.Artist = "Unknown artist"
		}
		if t.BPM == nil {
			return nil, skill.Failf("MISSING_FIELD", 400, "%s.bpm is required", f)
		}
		if *t.BPM < 40 || *t.BPM > 250 {
			return nil, invalid("%s.bpm must be between 40 and 250", f)
		}
		tr.BPM = math.Round(*t.BPM*100) / 100
		if tr.Key == "" {
			return nil, skill.Failf("MISSING_FIELD", 400, "%s.key is required", f)
		}
		var ok bool
		if tr.Camelot, ok = parseKey(tr.Key); !ok {
			return nil, invalid("%s.key %q is neither a Camelot key (1A–12B) nor a musical key (Am, F#, Bbm, C# minor)", f, tr.Key)
		}
		if t.Energy == nil {
			return nil, skill.Failf("MISSING_FIELD", 400, "%s.energy is required", f)
		}
		if e := *t.Energy; e != math.Trunc(e) || e < 1 || e > 10 {
			return nil, invalid("%s.energy must be a whole number from 1 to 10", f)
		}
		tr.Energy = int(*t.Energy)
		tr.DurationSec = defaultDurationSec
		if t.DurationSec != nil {
			if d := *t.DurationSec; d < 1 || d > 3600 {
				return nil, invalid("%s.durationSec must be between 1 and 3600", f)
			}
			tr.DurationSec = int(math.Round(*t.DurationSec))
		}
		out[i] = tr
	}
	return out, nil
}

func totalSec(ts []track) int {
	s := 0
	for _, t := range ts {
		s += t.DurationSec
	}
	return s
}

// byEnergy orders a crate by energy, then tempo, title and artist: the
// deterministic order that selection and ordering break ties in.
func byEnergy(a, b track) int {
	return cmp.Or(cmp.Compare(a.Energy, b.Energy), cmp.Compare(a.BPM, b.BPM),
		strings.Compare(a.Title, b.Title), strings.Compare(a.Artist, b.Artist))
}

// maxOpenings bounds the opening tracks plan tries: the lowest-energy ones,
// since the curve starts at the crate's lowest energy.
const maxOpenings = 8

// plan builds a set from the crate that fills targetSec: the whole crate when
// it is not longer, otherwise about the fewest tracks whose lengths reach the
// target, chosen by walk. The count is found by bisection (a walk's length
// grows with its count, if not strictly), and only a set that reaches the
// target is returned.
func plan(crate []track, targetSec int) []track {
	pool := slices.Clone(crate)
	slices.SortStableFunc(pool, byEnergy)
	n := len(pool)
	if n == 0 {
		return nil
	}
	if totalSec(pool) <= targetSec {
		return walk(pool, n)
	}
	longest := 0
	for _, t := range pool {
		longest = max(longest, t.DurationSec)
	}
	lo, hi := max(1, (targetSec+longest-1)/longest), n
	var best []track
	for lo < hi {
		mid := lo + (hi-lo)/2
		if set := walk(pool, mid); totalSec(set) >= targetSec {
			hi, best = mid, set
		} else {
			lo = mid + 1
		}
	}
	if best == nil || len(best) != hi {
		best = walk(pool, hi)
	}
	if totalSec(best) < targetSec {
		return walk(pool, n)
	}
	return best
}

// energyTargets is the curve a set of k tracks follows: from the crate's
// lowest energy lo up to its highest hi at peakAt of the set, then down to
// half-way between them.
func energyTargets(lo, hi, k int) []float64 {
	out := make([]float64, k)
	end := float64(lo) + float64(hi-lo)/2
	for i := range k {
		x := 0.0
		if k > 1 {
			x = float64(i) / float64(k-1)
		}
		if x <= peakAt {
			out[i] = float64(lo) + float64(hi-lo)*x/peakAt
		} else {
			out[i] = float64(hi) - (float64(hi)-end)*(x-peakAt)/(1-peakAt)
		}
	}
	return out
}

// stepCost scores putting track c after prev at a position whose target
// energy is want: energy off the curve, a key clash and a tempo jump cost.
func stepCost(prev *track, c track, want float64) float64 {
	cost := 3 * math.Abs(float64(c.Energy)-want)
	if prev != nil {
		if !compatible(prev.Camelot, c.Camelot) {
			cost += 8
		}
		change := math.Abs(c.BPM-prev.BPM) / prev.BPM * 100
		cost += change / 2
		if change > bpmJumpPct {
			cost += 3
		}
	}
	return cost
}

// walk picks and orders k tracks of the pool (sorted by byEnergy) along the
// energy curve with harmonic mixes: a greedy walk that takes the cheapest
// next track, tried from each of the first maxOpenings tracks; the cheapest
// walk wins (ties to the earlier opening), so the result is deterministic.
func walk(pool []track, k int) []track {
	lo, hi := pool[0].Energy, pool[len(pool)-1].Energy
	want := energyTargets(lo, hi, k)
	var best []track
	bestCost := math.Inf(1)
	for first := range min(len(pool), maxOpenings) {
		used := make([]bool, len(pool))
		set := []track{pool[first]}
		used[first] = true
		cost := stepCost(nil, pool[first], want[0])
		for pos := 1; pos < k && cost < bestCost; pos++ {
			pick, pickCost := -1, math.Inf(1)
			for j, c := range pool {
				if used[j] {
					continue
				}
				if cc := stepCost(&set[pos-1], c, want[pos]); cc < pickCost {
					pick, pickCost = j, cc
				}
			}
			used[pick] = true
			set = append(set, pool[pick])
			cost += pickCost
		}
		if len(set) == k && cost < bestCost {
			best, bestCost = set, cost
		}
	}
	return best
}

// entry is one track of a set as callers see it.
type entry struct {
	Position    int     `json:"position"`
	Title       string  `json:"title"`
	Artist      string  `json:"artist"`
	BPM         float64 `json:"bpm"`
	Energy      int     `json:"energy"`
	Key         string  `json:"key"`
	CamelotKey  string  `json:"camelotKey"`
	HarmonicKey bool    `json:"harmonicKey"` // compatible with the previous track (true for the first)
	DurationSec int     `json:"durationSec"`
	Genre       string  `json:"genre,omitempty"`
}

type stats struct {
	TotalTracks           int     `json:"totalTracks"`
	Duration              float64 `json:"duration"` // minutes, one decimal
	AvgBPM                float64 `json:"avgBpm"`
	AvgEnergy             float64 `json:"avgEnergy"`
	EnergyCurve           []int   `json:"energyCurve"`
	PeakPosition          int     `json:"peakPosition"`
	HarmonicTransitions   int     `json:"harmonicTransitions"`
	Transitions           int     `json:"transitions"`
	HarmonicTransitionPct int     `json:"harmonicTransitionPct"`
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// describe renders a set and its statistics.
func describe(set []track) ([]entry, stats) {
	entries := make([]entry, len(set))
	st := stats{TotalTracks: len(set), EnergyCurve: make([]int, len(set))}
	var bpm, energy float64
	peak := 0
	for i, t := range set {
		harmonic := i == 0 || compatible(set[i-1].Camelot, t.Camelot)
		entries[i] = entry{Position: i + 1, Title: t.Title, Artist: t.Artist, BPM: t.BPM, Energy: t.Energy, Key: t.Key,
			CamelotKey: t.Camelot.String(), HarmonicKey: harmonic, DurationSec: t.DurationSec, Genre: t.Genre}
		if i > 0 {
			st.Transitions++
			if harmonic {
				st.HarmonicTransitions++
			}
		}
		bpm += t.BPM
		energy += float64(t.Energy)
		st.EnergyCurve[i] = t.Energy
		if t.Energy > set[peak].Energy {
			peak = i
		}
	}
	st.Duration = round1(float64(totalSec(set)) / 60)
	if len(set) > 0 {
		st.AvgBPM = round1(bpm / float64(len(set)))
		st.AvgEnergy = round1(energy / float64(len(set)))
		st.PeakPosition = peak + 1
	}
	st.HarmonicTransitionPct = 100
	if st.Transitions > 0 {
		st.HarmonicTransitionPct = int(math.Round(100 * float64(st.HarmonicTransitions) / float64(st.Transitions)))
	}
	return entries, st
}

// Problems analyze reports between neighbours; Position is the later
// track's.
type keyClash struct {
	Position int    `json:"position"`
	From     string `json:"from"`
	To       string `json:"to"`
	FromKey  string `json:"fromKey"`
	ToKey    string `json:"toKey"`
	Message  string `json:"message"`
}

type bpmJump struct {
	Position  int     `json:"position"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	FromBPM   float64 `json:"fromBpm"`
	ToBPM     float64 `json:"toBpm"`
	ChangePct float64 `json:"changePct"`
	Message   string  `json:"message"`
}

func problems(set []track) ([]keyClash, []bpmJump) {
	clashes, jumps := []keyClash{}, []bpmJump{}
	for i := 1; i < len(set); i++ {
		a, b := set[i-1], set[i]
		if !compatible(a.Camelot, b.Camelot) {
			clashes = append(clashes, keyClash{Position: i + 1, From: a.Title, To: b.Title,
				FromKey: a.Camelot.String(), ToKey: b.Camelot.String(),
				Message: fmt.Sprintf("%s (%s) into %s (%s) is not a harmonic mix", a.Title, a.Camelot, b.Title, b.Camelot)})
		}
		// A change over bpmJumpPct % of the outgoing tempo, compared in
		// integer hundredths of a BPM (tempos are rounded to them), so that
		// exactly 8 % is not a jump.
		ac, bc := int64(math.Round(a.BPM*100)), int64(math.Round(b.BPM*100))
		if d := max(bc-ac, ac-bc); d*100 > int64(bpmJumpPct)*ac {
			pct := round1((b.BPM - a.BPM) / a.BPM * 100)
			jumps = append(jumps, bpmJump{Position: i + 1, From: a.Title, To: b.Title, FromBPM: a.BPM, ToBPM: b.BPM, ChangePct: pct,
				Message: fmt.Sprintf("%s (%g BPM) into %s (%g BPM) changes tempo by %+g%%", a.Title, a.BPM, b.Title, b.BPM, pct)})
		}
	}
	return clashes, jumps
}
