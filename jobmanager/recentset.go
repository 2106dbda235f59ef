package jobmanager

// recentSetCap bounds a recentSet: a provider reports a TaskManager's end
// within seconds of its connection dropping, long before this many others
// are gone.
const recentSetCap = 4096

// recentSet is a set of strings that forgets its oldest member beyond
// recentSetCap. The zero value is ready to use. Not safe for concurrent
// use.
type recentSet struct {
	members map[string]struct{}
	order   []string // oldest first; may hold removed members
}

func (s *recentSet) add(v string) {
	if s.members == nil {
		s.members = make(map[string]struct{})
	}
	if _, ok := s.members[v]; ok {
		return
	}
	s.members[v] = struct{}{}
	s.order = append(s.order, v)
	for len(s.members) > recentSetCap || len(s.order) > 2*recentSetCap {
		oldest := s.order[0]
		s.order = s.order[1:]
		delete(s.members, oldest)
	}
}

// remove removes v and reports whether it was a member.
func (s *recentSet) remove(v string) bool {
	if _, ok := s.members[v]; !ok {
		return false
	}
	delete(s.members, v)
	return true
}
