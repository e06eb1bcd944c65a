package skills

import (
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// diskCache bounds wazero's on-disk compilation cache. wazero names its files
// by a key we cannot compute (a digest of the module and the CPU's features),
// so the files a compile adds are found by listing the directory before and
// after it (compiles run one at a time), and kept in an index by module
// digest with the time each module was last used. Least recently used
// modules' files go when the directory outgrows its bound; files the index
// does not know (a crash mid-compile, an older wazero's cache) go at start.
// A nil *diskCache (no cache directory) does nothing.
type diskCache struct {
	dir     string
	max     int64 // < 0: unbounded, no index
	log     *slog.Logger
	mu      sync.Mutex
	entries map[string]*diskEntry
}

type diskEntry struct {
	Files []string  `json:"files"` // relative to dir
	Bytes int64     `json:"bytes"`
	Used  time.Time `json:"used"`
}

const diskIndexName = "agentbot-index.json"

func openDiskCache(dir string, max int64, log *slog.Logger) (*diskCache, error) {
	d := &diskCache{dir: dir, max: max, log: log, entries: map[string]*diskEntry{}}
	if max < 0 {
		return d, nil
	}
	if b, err := os.ReadFile(filepath.Join(dir, diskIndexName)); err == nil {
		if err := json.Unmarshal(b, &d.entries); err != nil || d.entries == nil {
			d.entries = map[string]*diskEntry{} // a damaged index: start over
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	present := d.files()
	known := map[string]bool{}
	for sha, e := range d.entries {
		var size int64
		complete := len(e.Files) > 0
		for _, f := range e.Files {
			s, ok := present[f]
			complete = complete && ok
			size += s
		}
		if !complete {
			d.remove(sha)
			continue
		}
		e.Bytes = size
		for _, f := range e.Files {
			known[f] = true
		}
	}
	for f := range present {
		if !known[f] {
			d.removeFile(f)
		}
	}
	d.mu.Lock()
	d.prune()
	d.mu.Unlock()
	return d, d.save()
}

// files lists the cache's files (relative path → size), the index aside.
func (d *diskCache) files() map[string]int64 {
	if d == nil {
		return nil
	}
	out := map[string]int64{}
	_ = filepath.WalkDir(d.dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(d.dir, path)
		if rel == diskIndexName || rel == diskIndexName+".tmp" {
			return nil
		}
		if info, err := e.Info(); err == nil {
			out[rel] = info.Size()
		}
		return nil
	})
	return out
}

// added records the files a compile of sha added since before, then prunes.
func (d *diskCache) added(sha string, before map[string]int64) {
	if d == nil || d.max < 0 {
		return
	}
	e := &diskEntry{Used: time.Now()}
	for f, size := range d.files() {
		if _, ok := before[f]; !ok {
			e.Files = append(e.Files, f)
			e.Bytes += size
		}
	}
	d.mu.Lock()
	if old := d.entries[sha]; old != nil {
		// A cache hit adds nothing; a recompile may have rewritten a file.
		e.Files = append(e.Files, old.Files...)
		e.Bytes += old.Bytes
	}
	if len(e.Files) > 0 {
		d.entries[sha] = e
	}
	d.prune()
	d.mu.Unlock()
	if err := d.save(); err != nil {
		d.log.Warn("skills cache index not saved", "err", err)
	}
}

// discard removes the files added since before: a refused module is not kept.
func (d *diskCache) discard(before map[string]int64) {
	if d == nil {
		return
	}
	for f := range d.files() {
		if _, ok := before[f]; !ok {
			d.removeFile(f)
		}
	}
}

// touch marks a module used now (saved with the index's next change).
func (d *diskCache) touch(sha string) {
	if d == nil || d.max < 0 {
		return
	}
	d.mu.Lock()
	if e := d.entries[sha]; e != nil {
		e.Used = time.Now()
	}
	d.mu.Unlock()
}

// bytes reports the size of the indexed files.
func (d *diskCache) bytes() int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n int64
	for _, e := range d.entries {
		n += e.Bytes
	}
	return n
}

// prune removes least recently used modules' files until the bound holds
// (d.mu held).
func (d *diskCache) prune() {
	var total int64
	shas := make([]string, 0, len(d.entries))
	for sha, e := range d.entries {
		total += e.Bytes
		shas = append(shas, sha)
	}
	if total <= d.max {
		return
	}
	sort.Slice(shas, func(i, j int) bool { return d.entries[shas[i]].Used.Before(d.entries[shas[j]].Used) })
	for _, sha := range shas {
		if total <= d.max {
			break
		}
		total -= d.entries[sha].Bytes
		d.remove(sha)
	}
}

func (d *diskCache) remove(sha string) {
	for _, f := range d.entries[sha].Files {
		d.removeFile(f)
	}
	delete(d.entries, sha)
}

func (d *diskCache) removeFile(rel string) {
	if err := os.Remove(filepath.Join(d.dir, rel)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		d.log.Warn("skills cache file not removed", "file", rel, "err", err)
	}
}

// save writes the index (atomically).
func (d *diskCache) save() error {
	if d == nil || d.max < 0 {
		return nil
	}
	d.mu.Lock()
	b, err := json.Marshal(d.entries)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, diskIndexName+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(d.dir, diskIndexName))
}
