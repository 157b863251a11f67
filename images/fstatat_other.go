//go:build !amd64 && !arm64

package images

import "golang.org/x/sys/unix"

func fstatatNUL(dirfd int, name string, st *unix.Stat_t) error {
	return unix.Fstatat(dirfd, name, st, unix.AT_SYMLINK_NOFOLLOW)
}
