package core

import (
	"fmt"
	"io"
	"os"
	"time"
)

// fileRecheck is the least time between two looks at a watched file.
const fileRecheck = time.Second

// maxSecretFileBytes bounds what is read of a file holding one secret: the
// gateway's access_key_file and secret_key_file, and hmac_secret_file.
const maxSecretFileBytes = 64 << 10

// watchedFile is a file read again when it changes: another size,
// modification time or file (a Kubernetes Secret volume swaps a symlink).
// It starts no goroutine: its owner looks (lookDue) when it needs the
// contents. JWT key files (fileKeySet) and the gateway's own key files
// (fileCredentials) are watched this way.
type watchedFile struct {
	path  string
	limit int
	info  os.FileInfo // of the version read last; nil reads it again
}

// lookDue reports whether a look is due at now, at most once per
// fileRecheck after *last (or at once when the clock went back), and if so
// moves *last to now.
func lookDue(last *time.Time, now time.Time) bool {
	if !last.IsZero() && now.Sub(*last) < fileRecheck && !now.Before(*last) {
		return false
	}
	*last = now
	return true
}

// changed returns the file's contents when it is not the version read last
// (nil when it is), or why it cannot be read.
func (w *watchedFile) changed() ([]byte, error) {
	cur, err := os.Stat(w.path)
	if err != nil {
		return nil, err
	}
	if w.info != nil && os.SameFile(w.info, cur) && w.info.Size() == cur.Size() && w.info.ModTime().Equal(cur.ModTime()) {
		return nil, nil
	}
	data, info, err := readFileBounded(w.path, w.limit)
	if err != nil {
		return nil, err
	}
	w.info = info
	return data, nil
}

// readFileBounded reads path, refusing one over limit bytes, and returns
// the stat of the very file it read.
func readFileBounded(path string, limit int) ([]byte, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, int64(limit)+1))
	if err == nil && len(data) > limit {
		err = fmt.Errorf("larger than %d bytes", limit)
	}
	return data, info, err
}
