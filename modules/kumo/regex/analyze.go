package regex

import "sort"

// Analysis after parsing, following fancy-regex: sizes of sub-expressions
// (look-behind bodies must have a constant size), back-reference checks,
// unsupported features; then delegates are resolved to sets.

// maxRepeat bounds repetition counts (the Rust regex crate refuses
// patterns whose compiled size exceeds its limits long before this).
const maxRepeat = 1_000_000

type analyzer struct {
	groupInfo map[int][2]int // group -> {minSize, constSize(0/1)}
}

func (a *analyzer) visit(n *node) error {
	n.minSize, n.constSize = 0, false
	switch n.kind {
	case nEmpty, nAssert, nKeep, nContinue, nBackrefExists:
		n.constSize = true
	case nAny, nLiteral, nDelegate, nClass:
		n.minSize, n.constSize = 1, true
	case nConcat:
		n.constSize = true
		for _, c := range n.subs {
			if err := a.visit(c); err != nil {
				return err
			}
			n.minSize += c.minSize
			n.constSize = n.constSize && c.constSize
		}
	case nAlt:
		for i, c := range n.subs {
			if err := a.visit(c); err != nil {
				return err
			}
			if i == 0 {
				n.minSize, n.constSize = c.minSize, c.constSize
				continue
			}
			n.constSize = n.constSize && c.constSize && n.minSize == c.minSize
			n.minSize = min(n.minSize, c.minSize)
		}
	case nGroup, nAtomic:
		c := n.subs[0]
		if err := a.visit(c); err != nil {
			return err
		}
		n.minSize, n.constSize = c.minSize, c.constSize
		if n.kind == nGroup {
			cs := 0
			if c.constSize {
				cs = 1
			}
			a.groupInfo[n.group] = [2]int{c.minSize, cs}
		}
	case nLook:
		if err := a.visit(n.subs[0]); err != nil {
			return err
		}
		n.constSize = true
	case nRepeat:
		c := n.subs[0]
		if err := a.visit(c); err != nil {
			return err
		}
		n.minSize = min(c.minSize*min(n.lo, maxRepeat), 1<<40)
		n.constSize = c.constSize && n.lo == n.hi
	case nBackref:
		if n.group == 0 {
			return cerr("Invalid back reference to group 0")
		}
		if gi, ok := a.groupInfo[n.group]; ok {
			n.minSize, n.constSize = gi[0], gi[1] == 1
		}
	case nCond:
		for _, c := range n.subs {
			if err := a.visit(c); err != nil {
				return err
			}
		}
		cond, yes, no := n.subs[0], n.subs[1], n.subs[2]
		n.minSize = cond.minSize + min(yes.minSize, no.minSize)
		n.constSize = cond.constSize && yes.constSize && no.constSize && cond.minSize+yes.minSize == no.minSize
	}
	return nil
}

// analyze checks t as fancy-regex does and resolves its delegates.
func analyze(t *tree) error {
	a := &analyzer{groupInfo: map[int][2]int{}}
	visitErr := a.visit(t.root)
	if t.backrefs[0] {
		return cerr("Invalid back reference to group 0")
	}
	if len(t.backrefs) > 0 {
		refs := make([]int, 0, len(t.backrefs))
		for g := range t.backrefs {
			refs = append(refs, g)
		}
		sort.Ints(refs)
		if hi := refs[len(refs)-1]; hi > t.ngroups {
			return cerr("Invalid back reference to group %d", hi)
		}
	}
	if visitErr != nil {
		return visitErr
	}
	return resolve(t.root)
}

// resolve turns delegates into sets and checks repetitions and
// look-behinds, in pattern order.
func resolve(n *node) error {
	switch n.kind {
	case nDelegate:
		set, err := resolveDelegate(n.text, n.fold)
		if err != nil {
			return cerr("%s", err.Error())
		}
		n.kind, n.set = nClass, set
		return nil
	case nRepeat:
		if n.hi >= 0 && n.lo > n.hi {
			return cerr("Regex error: invalid repetition count range, the start must be <= the end")
		}
		if n.lo > maxRepeat || n.hi > maxRepeat {
			return cerr("Regex error: repetition count exceeds the limit of %d", maxRepeat)
		}
	case nLook:
		if n.look == lookBehind || n.look == lookBehindNeg {
			body := n.subs[0]
			ok := body.constSize
			if !ok && body.kind == nAlt {
				ok = true
				for _, c := range body.subs {
					ok = ok && c.constSize
				}
			}
			if !ok {
				return cerr("Look-behind assertion without constant size")
			}
		}
	}
	for _, c := range n.subs {
		if err := resolve(c); err != nil {
			return err
		}
	}
	return nil
}

// needsBacktracking reports whether n uses a construct RE2 lacks.
func needsBacktracking(n *node) bool {
	switch n.kind {
	case nLook, nAtomic, nBackref, nBackrefExists, nCond, nKeep, nContinue:
		return true
	case nAssert:
		if n.assert == aWordStart || n.assert == aWordEnd {
			return true
		}
	}
	for _, c := range n.subs {
		if needsBacktracking(c) {
			return true
		}
	}
	return false
}

// hasWordBoundary reports whether n uses \b or \B, whose Unicode meaning
// Go's ASCII-only \b and \B share on ASCII text only.
func hasWordBoundary(n *node) bool {
	if n.kind == nAssert && (n.assert == aWordBoundary || n.assert == aNotWordBoundary) {
		return true
	}
	for _, c := range n.subs {
		if hasWordBoundary(c) {
			return true
		}
	}
	return false
}

func hasKeep(n *node) bool {
	if n.kind == nKeep {
		return true
	}
	for _, c := range n.subs {
		if hasKeep(c) {
			return true
		}
	}
	return false
}
