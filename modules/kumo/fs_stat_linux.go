//go:build linux

package kumo

import (
	"io/fs"
	"syscall"
	"time"
)

// platformStat reads Linux's stat fields.
func platformStat(fi fs.FileInfo) (statFields, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statFields{}, false
	}
	return statFields{
		dev: uint64(st.Dev), ino: uint64(st.Ino), mode: uint64(st.Mode), nlink: uint64(st.Nlink),
		uid: uint64(st.Uid), gid: uint64(st.Gid), rdev: uint64(st.Rdev), size: uint64(st.Size),
		blksize: uint64(st.Blksize), blocks: uint64(st.Blocks),
		mtime: time.Unix(st.Mtim.Unix()), atime: time.Unix(st.Atim.Unix()), ctime: time.Unix(st.Ctim.Unix()),
	}, true
}
