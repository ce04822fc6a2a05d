package kumo

import (
	"io/fs"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.fs.metadata_for_path(PATH) and symlink_metadata_for_path(PATH): a
// table of a path's attributes, read-only, through the same ShareDir/EtcDir
// mapping as the rest of kumo.fs. metadata_for_path follows symbolic links;
// symlink_metadata_for_path describes the link itself.
//
// Fields: path (as given), is_file, is_dir, is_symlink, len, readonly (no
// write permission bit set), and where the platform's stat provides them
// (Linux; nil elsewhere) dev, ino, mode (st_mode: type and permission
// bits), nlink, uid, gid, rdev, size, blksize, blocks (512-byte units),
// and mtime, atime, ctime as kumo.time Time objects in UTC. ctime is the
// inode's status-change time, as stat reports it.

// statFields are the platform's stat fields, nil where not available.
type statFields struct {
	dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks uint64
	mtime, atime, ctime                                          time.Time
}

func fsMetadata(L *lua.LState, fname string, mapPath func(string) string, stat func(string) (fs.FileInfo, error)) int {
	given := L.CheckString(1)
	fi, err := stat(mapPath(given))
	if err != nil {
		L.RaiseError("kumo.fs.%s %s: %s", fname, given, plain.IOErrorText(err))
	}
	t := L.NewTable()
	t.RawSetString("path", lua.LString(given))
	t.RawSetString("is_file", lua.LBool(fi.Mode().IsRegular()))
	t.RawSetString("is_dir", lua.LBool(fi.IsDir()))
	t.RawSetString("is_symlink", lua.LBool(fi.Mode()&fs.ModeSymlink != 0))
	t.RawSetString("len", lua.LNumber(fi.Size()))
	t.RawSetString("readonly", lua.LBool(fi.Mode().Perm()&0o222 == 0))
	if st, ok := platformStat(fi); ok {
		for name, v := range map[string]uint64{
			"dev": st.dev, "ino": st.ino, "mode": st.mode, "nlink": st.nlink, "uid": st.uid, "gid": st.gid,
			"rdev": st.rdev, "size": st.size, "blksize": st.blksize, "blocks": st.blocks,
		} {
			t.RawSetString(name, lua.LNumber(v))
		}
		for name, tm := range map[string]time.Time{"mtime": st.mtime, "atime": st.atime, "ctime": st.ctime} {
			pushTime(L, tm.UTC())
			t.RawSetString(name, L.Get(-1))
			L.Pop(1)
		}
	}
	L.Push(t)
	return 1
}
