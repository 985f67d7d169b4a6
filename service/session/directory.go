package session

import "fmt"

// Directory tells the other relays of a cluster which sessions this relay
// holds (service/cluster); a relay on its own has none.
type Directory interface {
	// Register records that this relay holds session id under tokens, in
	// place of what it registered before. It fails with *NameTakenError
	// when another relay's session holds one of them; when the directory
	// cannot be reached it accepts and registers later.
	Register(id string, tokens []string) error
	// Withdraw forgets session id.
	Withdraw(id string)
}

// NameTakenError refuses a session name (a token) another live session
// holds, on this relay or another of its cluster.
type NameTakenError struct{ Name string }

func (e *NameTakenError) Error() string {
	return fmt.Sprintf("the session name %q is in use by another live session: choose another tmate-session-name (or -ro), or end that session first", e.Name)
}

// TakenText is what the host and guests of a session read when its name
// turned out to be held on another relay of the cluster (see
// Registry.EndTaken).
const TakenText = "Relay: this session's name was taken on another node of the cluster while this node could not reach the cluster's store; that session keeps it, and this one has ended."

// SetDirectory makes the relay register its sessions' tokens with d
// (before any host connects).
func (r *Registry) SetDirectory(d Directory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dir = d
}

func (r *Registry) directory() Directory {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.dir
}

// EndTaken ends the session whose id is id, if it lives, because another
// relay's session holds its name.
func (r *Registry) EndTaken(id string) {
	s := r.ByID(id)
	if s == nil {
		return
	}
	s.host.Notify(TakenText)
	s.End(TakenText)
	r.Remove(s)
}
