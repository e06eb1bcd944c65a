//go:build !wasip1

package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/agentbot/gateway/sdk/skill/skilltest"
	gt "github.com/agentbot/gateway/skills/shipped/internal/guesttest"
)

type entryOut struct {
	Position    int     `json:"position"`
	Title       string  `json:"title"`
	Artist      string  `json:"artist"`
	BPM         float64 `json:"bpm"`
	Energy      int     `json:"energy"`
	Key         string  `json:"key"`
	CamelotKey  string  `json:"camelotKey"`
	HarmonicKey bool    `json:"harmonicKey"`
	DurationSec int     `json:"durationSec"`
}

type statsOut struct {
	TotalTracks           int     `json:"totalTracks"`
	Duration              float64 `json:"duration"`
	AvgBPM                float64 `json:"avgBpm"`
	AvgEnergy             float64 `json:"avgEnergy"`
	EnergyCurve           []int   `json:"energyCurve"`
	PeakPosition          int     `json:"peakPosition"`
	HarmonicTransitions   int     `json:"harmonicTransitions"`
	Transitions           int     `json:"transitions"`
	HarmonicTransitionPct int     `json:"harmonicTransitionPct"`
}

type buildOut struct {
	Success bool       `json:"success"`
	Genre   string     `json:"genre"`
	Setlist []entryOut `json:"setlist"`
	Stats   statsOut   `json:"stats"`
	Note    string     `json:"note"`
}

func buildSet(t *testing.T, s *skilltest.Skill, in gt.Object) buildOut {
	t.Helper()
	in["action"] = "build"
	var out buildOut
	gt.Into(t, s, &skilltest.Host{Timeout: 5 * time.Second}, in, &out)
	if !out.Success {
		t.Fatalf("build %v: success false", in)
	}
	return out
}

// checkSet verifies what every set promises: positions, stats that match
// the entries, and harmonicKey flags that match the Camelot keys.
func checkSet(t *testing.T, out buildOut) {
	t.Helper()
	set, st := out.Setlist, out.Stats
	if len(set) == 0 || st.TotalTracks != len(set) || len(st.EnergyCurve) != len(set) {
		t.Fatalf("set of %d tracks, stats %+v", len(set), st)
	}
	var bpm, energy float64
	var sec, harmonic int
	titles := map[string]bool{}
	for i, e := range set {
		if e.Position != i+1 || st.EnergyCurve[i] != e.Energy || titles[e.Title+"/"+e.Artist] {
			t.Errorf("entry %d = %+v (curve %v)", i, e, st.EnergyCurve)
		}
		titles[e.Title+"/"+e.Artist] = true
		k, ok := parseKey(e.CamelotKey)
		if !ok || k.String() != e.CamelotKey {
			t.Errorf("entry %d camelotKey %q", i, e.CamelotKey)
		}
		want := i == 0
		if i > 0 {
			prev, _ := parseKey(set[i-1].CamelotKey)
			want = compatible(prev, k)
			if want {
				harmonic++
			}
		}
		if e.HarmonicKey != want {
			t.Errorf("entry %d harmonicKey %v, want %v", i, e.HarmonicKey, want)
		}
		bpm += e.BPM
		energy += float64(e.Energy)
		sec += e.DurationSec
	}
	n := float64(len(set))
	if st.AvgBPM != math.Round(bpm/n*10)/10 || st.AvgEnergy != math.Round(energy/n*10)/10 ||
		st.Duration != math.Round(float64(sec)/6)/10 || st.HarmonicTransitions != harmonic || st.Transitions != len(set)-1 {
		t.Errorf("stats %+v; want avgBpm %.1f avgEnergy %.1f duration %.1f harmonic %d", st, bpm/n, energy/n, float64(sec)/60, harmonic)
	}
	peak := slices.Index(st.EnergyCurve, slices.Max(st.EnergyCurve)) + 1
	if st.PeakPosition != peak {
		t.Errorf("peakPosition %d, want %d", st.PeakPosition, peak)
	}
}

// checkCurve verifies the warm-up → peak → cool-down shape.
func checkCurve(t *testing.T, out buildOut) {
	t.Helper()
	c := out.Stats.EnergyCurve
	n := len(c)
	peak := out.Stats.PeakPosition - 1
	if frac := float64(peak) / float64(n-1); frac < 0.5 || frac > 0.85 {
		t.Errorf("peak at position %d of %d (%.0f%%), want about 70%%: %v", peak+1, n, 100*frac, c)
	}
	if c[0] > slices.Min(c)+1 {
		t.Errorf("the set opens at energy %d, not a warm-up: %v", c[0], c)
	}
	if c[n-1] >= c[peak] {
		t.Errorf("no cool-down after the peak: %v", c)
	}
	// Warm-up rises overall: the first half's mean is below the peak's.
	var warm float64
	for _, e := range c[:peak] {
		warm += float64(e)
	}
	if peak > 0 && warm/float64(peak) >= float64(c[peak]) {
		t.Errorf("warm-up is not below the peak: %v", c)
	}
}

func TestManifest(t *testing.T) {
	s := gt.Load(t)
	m := gt.Manifest(t, s, "log")
	if m.Category != "music" || m.Icon != "🎧" || m.Version != "1.0.0" {
		t.Errorf("manifest %+v", m)
	}
}

func TestInvalidAction(t *testing.T) {
	s := gt.Load(t)
	for _, in := range []gt.Object{{"action": "shuffle"}, {}} {
		gt.Fails(t, s, nil, in, 400, "INVALID_ACTION", "Invalid action")
	}
}

func TestBuildFromLibrary(t *testing.T) {
	s := gt.Load(t)
	def := buildSet(t, s, gt.Object{})
	checkSet(t, def)
	checkCurve(t, def)
	if def.Genre != "techno" || def.Stats.Duration < 60 || def.Note != "" {
		t.Errorf("default build: genre %q, %.1f min, note %q", def.Genre, def.Stats.Duration, def.Note)
	}
	if def.Stats.AvgBPM < 128 || def.Stats.AvgBPM > 136 || def.Stats.HarmonicTransitionPct < 75 {
		t.Errorf("default stats %+v", def.Stats)
	}
	// Deterministic: the same input gives the same set, and the explicit
	// defaults are the defaults.
	if again := buildSet(t, s, gt.Object{"genre": "techno", "duration": 60}); gt.JSON(t, again) != gt.JSON(t, def) {
		t.Errorf("build is not deterministic:\n%s\n%s", gt.JSON(t, again), gt.JSON(t, def))
	}

	for _, c := range []struct {
		genre    string
		duration float64
		bpm      [2]float64
		short    bool
	}{
		{"house", 60, [2]float64{120, 126}, false},
		{"House", 45, [2]float64{120, 126}, false},
		{"ambient", 30, [2]float64{72, 96}, false},
		{"drumnbass", 30, [2]float64{170, 176}, false},
		{"Drum & Bass", 60, [2]float64{170, 176}, true},
		{"techno", 20, [2]float64{128, 136}, false},
		{"techno", 240, [2]float64{128, 136}, true},
	} {
		t.Run(fmt.Sprintf("%s/%g", c.genre, c.duration), func(t *testing.T) {
			out := buildSet(t, s, gt.Object{"genre": c.genre, "duration": c.duration})
			checkSet(t, out)
			if len(out.Setlist) >= 5 {
				checkCurve(t, out)
			}
			for _, e := range out.Setlist {
				if e.BPM < c.bpm[0] || e.BPM > c.bpm[1] {
					t.Errorf("%s set holds %+v", c.genre, e)
				}
			}
			if c.short {
				if out.Note == "" || !strings.Contains(out.Note, "library only fill") {
					t.Errorf("a short set should say so: %q", out.Note)
				}
			} else if out.Stats.Duration < c.duration || out.Note != "" {
				t.Errorf("set of %.1f min for %g asked (note %q)", out.Stats.Duration, c.duration, out.Note)
			}
			// Filling, not overfilling: without the last track it would be short.
			if !c.short {
				last := out.Setlist[len(out.Setlist)-1].DurationSec
				longest := 0
				for _, e := range out.Setlist {
					longest = max(longest, e.DurationSec)
				}
				if out.Stats.Duration*60-float64(longest) >= c.duration*60+float64(last) {
					t.Errorf("set of %.1f min overfills %g min", out.Stats.Duration, c.duration)
				}
			}
		})
	}
	dnb := buildSet(t, s, gt.Object{"genre": "dnb"})
	for _, alias := range []string{"drum'n'bass", "drum and bass", "DnB", "drum-n-bass"} {
		if out := buildSet(t, s, gt.Object{"genre": alias}); gt.JSON(t, out) != gt.JSON(t, dnb) {
			t.Errorf("genre %q does not mean drumnbass", alias)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	s := gt.Load(t)
	for _, c := range []struct {
		in        gt.Object
		code, msg string
	}{
		{gt.Object{"genre": "polka"}, "INVALID_FIELD", `genre "polka" is not in the library (want techno, house, drumnbass, ambient)`},
		{gt.Object{"duration": 0}, "INVALID_FIELD", "duration must be between 1 and 600 minutes"},
		{gt.Object{"duration": 601}, "INVALID_FIELD", "duration must be between 1 and 600 minutes"},
		{gt.Object{"duration": -5}, "INVALID_FIELD", "duration must be between 1 and 600 minutes"},
		{gt.Object{"duration": "60"}, "INVALID_INPUT", "Invalid JSON input"},
		{gt.Object{"tracks": []gt.Object{}}, "MISSING_FIELD", "tracks is empty"},
		{gt.Object{"tracks": "all of them"}, "INVALID_INPUT", "Invalid JSON input"},
	} {
		c.in["action"] = "build"
		gt.Fails(t, s, nil, c.in, 400, c.code, c.msg)
	}
}

func myTracks() []gt.Object {
	return []gt.Object{
		{"title": "Opener", "artist": "A", "bpm": 122, "key": "Am", "energy": 3, "durationSec": 300},
		{"title": "Lift", "artist": "B", "bpm": 124, "key": "C", "energy": 5, "durationSec": 300},
		{"title": "Drive", "artist": "C", "bpm": 125, "key": "Em", "energy": 7, "durationSec": 300},
		{"title": "Peak Time", "artist": "D", "bpm": 126, "key": "G", "energy": 10, "durationSec": 300},
		{"title": "Glow", "artist": "E", "bpm": 126, "key": "9A", "energy": 8, "durationSec": 300},
		{"title": "Home", "artist": "F", "bpm": 124, "key": "a minor", "energy": 5, "durationSec": 300},
		{"title": "Outlier", "artist": "G", "bpm": 124, "key": "F#m", "energy": 6},
	}
}

func TestBuildFromTracks(t *testing.T) {
	s := gt.Load(t)
	out := buildSet(t, s, gt.Object{"tracks": myTracks(), "duration": 20, "genre": "my crate"})
	checkSet(t, out)
	if out.Genre != "my crate" || out.Stats.Duration < 20 || len(out.Setlist) != 4 || out.Note != "" {
		t.Errorf("20 min from my tracks: %+v", out)
	}
	all := buildSet(t, s, gt.Object{"tracks": myTracks()})
	checkSet(t, all)
	checkCurve(t, all)
	if len(all.Setlist) != 7 || all.Stats.Duration != 36 || !strings.Contains(all.Note, "your tracks only fill 36.0 of the 60 minutes") {
		t.Errorf("all my tracks: %+v", all)
	}
	keys := map[string]string{}
	for _, e := range all.Setlist {
		keys[e.Title] = e.CamelotKey
		if e.Title == "Outlier" && e.DurationSec != 360 {
			t.Errorf("default durationSec = %d", e.DurationSec)
		}
	}
	want := map[string]string{"Opener": "8A", "Lift": "8B", "Drive": "9A", "Peak Time": "9B", "Glow": "9A", "Home": "8A", "Outlier": "11A"}
	if gt.JSON(t, keys) != gt.JSON(t, want) {
		t.Errorf("camelot keys %v, want %v", keys, want)
	}
	if all.Setlist[0].Title != "Opener" || all.Stats.PeakPosition != 5 || all.Setlist[4].Title != "Peak Time" {
		t.Errorf("order %v", all.Setlist)
	}
}

func TestTrackValidation(t *testing.T) {
	s := gt.Load(t)
	with := func(k string, v any) []gt.Object {
		ts := myTracks()
		if v == nil {
			delete(ts[1], k)
		} else {
			ts[1][k] = v
		}
		return ts
	}
	for _, c := range []struct {
		tracks    []gt.Object
		code, msg string
	}{
		{with("title", nil), "MISSING_FIELD", "tracks[1].title is required"},
		{with("bpm", nil), "MISSING_FIELD", "tracks[1].bpm is required"},
		{with("bpm", 20), "INVALID_FIELD", "tracks[1].bpm must be between 40 and 250"},
		{with("key", nil), "MISSING_FIELD", "tracks[1].key is required"},
		{with("key", "H#"), "INVALID_FIELD", `tracks[1].key "H#" is neither a Camelot key (1A–12B) nor a musical key`},
		{with("key", "13A"), "INVALID_FIELD", `tracks[1].key "13A"`},
		{with("key", "0B"), "INVALID_FIELD", `tracks[1].key "0B"`},
		{with("key", "C lydian"), "INVALID_FIELD", `tracks[1].key "C lydian"`},
		{with("energy", nil), "MISSING_FIELD", "tracks[1].energy is required"},
		{with("energy", 0), "INVALID_FIELD", "tracks[1].energy must be a whole number from 1 to 10"},
		{with("energy", 11), "INVALID_FIELD", "tracks[1].energy must be a whole number from 1 to 10"},
		{with("energy", 5.5), "INVALID_FIELD", "tracks[1].energy must be a whole number from 1 to 10"},
		{with("durationSec", 0), "INVALID_FIELD", "tracks[1].durationSec must be between 1 and 3600"},
		{with("bpm", "fast"), "INVALID_INPUT", "Invalid JSON input"},
	} {
		for _, action := range []string{"build", "analyze"} {
			gt.Fails(t, s, nil, gt.Object{"action": action, "tracks": c.tracks}, 400, c.code, c.msg)
		}
	}
	many := make([]gt.Object, 201)
	for i := range many {
		many[i] = gt.Object{"title": fmt.Sprint(i), "bpm": 120, "key": "8A", "energy": 5}
	}
	gt.Fails(t, s, nil, gt.Object{"action": "analyze", "tracks": many}, 400, "INVALID_FIELD", "tracks may hold at most 200 tracks")
}

// The largest crate builds well within the manifest's 5 s.
func TestBuildLargeCrate(t *testing.T) {
	s := gt.Load(t)
	crate := make([]gt.Object, 200)
	for i := range crate {
		crate[i] = gt.Object{"title": fmt.Sprintf("T%03d", i), "artist": "X", "bpm": 120 + i%10, "key": fmt.Sprintf("%d%c", i%12+1, "AB"[i%2]),
			"energy": i%10 + 1, "durationSec": 60 + i%7*30}
	}
	start := time.Now()
	out := buildSet(t, s, gt.Object{"tracks": crate, "duration": 300})
	checkSet(t, out)
	checkCurve(t, out)
	if out.Stats.Duration < 300 || len(out.Setlist) == len(crate) {
		t.Errorf("%.1f min", out.Stats.Duration)
	}
	t.Logf("200-track crate, %d-track set in %v", len(out.Setlist), time.Since(start))
}

func TestAnalyze(t *testing.T) {
	s := gt.Load(t)
	h := &skilltest.Host{}
	var out struct {
		Success    bool       `json:"success"`
		Setlist    []entryOut `json:"setlist"`
		Stats      statsOut   `json:"stats"`
		KeyClashes []struct {
			Position int    `json:"position"`
			From     string `json:"from"`
			To       string `json:"to"`
			FromKey  string `json:"fromKey"`
			ToKey    string `json:"toKey"`
		} `json:"keyClashes"`
		BPMJumps []struct {
			Position  int     `json:"position"`
			FromBPM   float64 `json:"fromBpm"`
			ToBPM     float64 `json:"toBpm"`
			ChangePct float64 `json:"changePct"`
		} `json:"bpmJumps"`
		Summary string `json:"summary"`
	}
	tracks := []gt.Object{
		{"title": "One", "artist": "A", "bpm": 128, "key": "Am", "energy": 4, "durationSec": 400},
		{"title": "Two", "artist": "B", "bpm": 140, "key": "Db", "energy": 6, "durationSec": 380},
		{"title": "Three", "artist": "C", "bpm": 141, "key": "Bbm", "energy": 8, "durationSec": 420},
		{"title": "Four", "artist": "D", "bpm": 130, "key": "4A", "energy": 9, "durationSec": 300},
		{"title": "Five", "artist": "E", "bpm": 140.4, "key": "A♭m", "energy": 5, "durationSec": 300},
	}
	gt.Into(t, s, h, gt.Object{"action": "analyze", "tracks": tracks}, &out)
	checkSet(t, buildOut{Setlist: out.Setlist, Stats: out.Stats})
	// Order kept; keys: 8A, 3B, 3A, 4A, 1A.
	var flags []bool
	for _, e := range out.Setlist {
		flags = append(flags, e.HarmonicKey)
	}
	if gt.JSON(t, flags) != "[true,false,true,true,false]" || out.Setlist[1].CamelotKey != "3B" || out.Setlist[4].CamelotKey != "1A" {
		t.Errorf("setlist %+v", out.Setlist)
	}
	if gt.JSON(t, out.KeyClashes) != `[{"position":2,"from":"One","to":"Two","fromKey":"8A","toKey":"3B"},{"position":5,"from":"Four","to":"Five","fromKey":"4A","toKey":"1A"}]` {
		t.Errorf("keyClashes %s", gt.JSON(t, out.KeyClashes))
	}
	// 128 → 140 is +9.4 %; 140 → 141 is not a jump; 141 → 130 is −7.8 %
	// (not over 8 %); 130 → 140.4 is exactly +8 % and not over it.
	if gt.JSON(t, out.BPMJumps) != `[{"position":2,"fromBpm":128,"toBpm":140,"changePct":9.4}]` {
		t.Errorf("bpmJumps %s", gt.JSON(t, out.BPMJumps))
	}
	if !out.Success || out.Summary != "2 key clash(es) and 1 BPM jump(s) over 8% in 4 transition(s)." || out.Stats.HarmonicTransitionPct != 50 {
		t.Errorf("summary %q, stats %+v", out.Summary, out.Stats)
	}

	raw := gt.OK(t, s, h, gt.Object{"action": "analyze", "tracks": tracks[2:4]})
	if gt.JSON(t, raw["keyClashes"]) != "[]" || gt.JSON(t, raw["bpmJumps"]) != "[]" || !strings.HasPrefix(raw["summary"].(string), "Clean set") {
		t.Errorf("clean set: %v", raw)
	}
	gt.Fails(t, s, h, gt.Object{"action": "analyze"}, 400, "MISSING_FIELD", "tracks is required")
	gt.Fails(t, s, h, gt.Object{"action": "analyze", "tracks": []gt.Object{}}, 400, "MISSING_FIELD", "tracks is required")
	if len(h.KV) != 0 {
		t.Errorf("the skill stored %d keys", len(h.KV))
	}
}

// Host-side unit tests of the key logic.

func TestParseKey(t *testing.T) {
	for in, want := range map[string]string{
		"8A": "8A", "8a": "8A", "12B": "12B", " 1b ": "1B",
		"Am": "8A", "C": "8B", "Em": "9A", "G": "9B", "Bm": "10A", "D": "10B", "F#m": "11A", "A": "11B",
		"C#m": "12A", "Db": "3B", "E": "12B", "G#m": "1A", "Abm": "1A", "A♭m": "1A", "B": "1B", "Ebm": "2A", "F#": "2B",
		"Gb": "2B", "Bbm": "3A", "A#m": "3A", "Fm": "4A", "Ab": "4B", "Cm": "5A", "Eb": "5B", "D♯ minor": "2A",
		"Gm": "6A", "Bb": "6B", "Dm": "7A", "F": "7B", "c# minor": "12A", "E major": "12B", "Cmaj": "8B", "amin": "8A",
	} {
		k, ok := parseKey(in)
		if !ok || k.String() != want {
			t.Errorf("parseKey(%q) = %v %v, want %s", in, k, ok, want)
		}
	}
	for _, in := range []string{"", "13A", "0A", "08A", "8C", "H", "C lydian", "m", "#", "A##", "8"} {
		if k, ok := parseKey(in); ok {
			t.Errorf("parseKey(%q) = %v, want an error", in, k)
		}
	}
}

func TestCompatible(t *testing.T) {
	k := func(s string) camelot {
		c, ok := parseKey(s)
		if !ok {
			t.Fatal(s)
		}
		return c
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"8A", "8A", true}, {"8A", "9A", true}, {"8A", "7A", true}, {"8A", "8B", true},
		{"12A", "1A", true}, {"1B", "12B", true}, {"8A", "10A", false}, {"8A", "9B", false},
		{"8A", "7B", false}, {"3B", "8A", false}, {"Am", "C", true}, {"Am", "Em", true}, {"Am", "F#m", false},
	} {
		if got := compatible(k(c.a), k(c.b)); got != c.want || compatible(k(c.b), k(c.a)) != c.want {
			t.Errorf("compatible(%s, %s) = %v, want %v (both ways)", c.a, c.b, got, c.want)
		}
	}
}

// The manifest's input schemas (which agents check a model's arguments
// against) refuse obviously wrong inputs; every test's successful input
// passes them (guesttest checks).
func TestInputSchemas(t *testing.T) {
	for _, c := range []struct {
		in  gt.Object
		msg string
	}{
		{gt.Object{"action": "build", "duration": "60"}, "duration: must be a number, not a string"},
		{gt.Object{"action": "build", "duration": 601}, "duration: must be <= 600"},
		{gt.Object{"action": "analyze"}, `missing property "tracks"`},
		{gt.Object{"action": "analyze", "tracks": []gt.Object{{"title": "One", "bpm": 128, "key": "Am", "energy": 5.5}}},
			"tracks[0].energy: must be an integer, not a number"},
		{gt.Object{"action": "analyze", "tracks": []gt.Object{{"title": "One", "key": "Am", "energy": 5}}}, `tracks[0]: missing property "bpm"`},
	} {
		gt.Refuses(t, c.in, c.msg)
	}
}
