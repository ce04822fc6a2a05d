//go:build !linux

package kumo

import "io/fs"

// platformStat: only Linux's stat fields are read; elsewhere they are nil.
func platformStat(fs.FileInfo) (statFields, bool) { return statFields{}, false }
