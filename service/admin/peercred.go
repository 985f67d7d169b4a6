package admin

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Cred is who is at the other end of a Unix socket, as the kernel says
// (SO_PEERCRED), in the relay's user namespace.
type Cred struct {
	UID, GID uint32
	PID      int32
}

// peerCred reads c's peer credentials.
func peerCred(c net.Conn) (Cred, error) {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return Cred{}, errors.New("not a Unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return Cred{}, err
	}
	var ucred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		ucred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if serr != nil {
		return Cred{}, fmt.Errorf("SO_PEERCRED: %w", serr)
	}
	return Cred{UID: ucred.Uid, GID: ucred.Gid, PID: ucred.Pid}, nil
}

// Authorizer decides who may use the socket: root, the relay's own user,
// and the members of Group (its primary or a supplementary group).
type Authorizer struct {
	Group   string
	SelfUID uint32
	// Unmapped is the id the kernel reports for a peer outside the relay's
	// user namespace; -1 when the relay is in the initial namespace.
	// Under the packaged unit's PrivateUsers=yes only root and the relay's
	// own user are mapped, so a member of Group shows as this id and the
	// relay cannot look up its groups: it then relies on the socket's
	// file permissions (root:tmate-relay-admin 0660, set by the socket
	// unit), which the kernel already checked when the peer connected.
	Unmapped int64
	// groupIDs returns the group ids uid belongs to (os/user by default).
	groupIDs func(uid uint32) ([]string, error)
	// lookupGroup returns the id of the group named name.
	lookupGroup func(name string) (string, error)
}

// NewAuthorizer returns the Authorizer for this process.
func NewAuthorizer() *Authorizer {
	return &Authorizer{Group: Group, SelfUID: uint32(os.Getuid()), Unmapped: unmappedID()}
}

// Check returns nil when cred may use the socket, else an error that says
// why in words the refused caller reads.
func (a *Authorizer) Check(cred Cred) error {
	if cred.UID == 0 || cred.UID == a.SelfUID {
		return nil
	}
	if a.Unmapped >= 0 && int64(cred.UID) == a.Unmapped {
		return nil // see Unmapped
	}
	gid, err := a.groupID()
	if err == nil {
		if strconv.FormatUint(uint64(cred.GID), 10) == gid {
			return nil
		}
		ids, err := a.userGroups(cred.UID)
		if err == nil && slices.Contains(ids, gid) {
			return nil
		}
	}
	return fmt.Errorf("permission denied: uid %d is not root and not a member of group %s", cred.UID, a.Group)
}

func (a *Authorizer) groupID() (string, error) {
	if a.lookupGroup != nil {
		return a.lookupGroup(a.Group)
	}
	g, err := user.LookupGroup(a.Group)
	if err != nil {
		return "", err
	}
	return g.Gid, nil
}

func (a *Authorizer) userGroups(uid uint32) ([]string, error) {
	if a.groupIDs != nil {
		return a.groupIDs(uid)
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil, err
	}
	return u.GroupIds()
}

// unmappedID is the kernel's overflow uid when this process runs in a user
// namespace that maps only some ids (systemd's PrivateUsers=), else -1.
func unmappedID() int64 {
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil || identityMap(string(m)) {
		return -1
	}
	b, err := os.ReadFile("/proc/sys/kernel/overflowuid")
	if err != nil {
		return 65534
	}
	id, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 65534
	}
	return id
}

// identityMap reports whether a uid_map maps every id to itself, as in
// the initial user namespace.
func identityMap(m string) bool {
	f := strings.Fields(m)
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}
