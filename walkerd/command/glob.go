package command

// Match reports whether str matches the glob pattern as Redis's
// stringmatchlen does (KEYS, SCAN MATCH, CONFIG GET): '*', '?', '[...]'
// with '^' negation and 'a-z' ranges, and '\' escapes. Bytes compare as
// C's signed char, as in Redis.
func Match(pattern, str []byte) bool {
	skip := false
	return matchImpl(pattern, str, &skip, 0)
}

// at returns p[i], or 0 (C's terminating NUL) past the end.
func at(p []byte, i int) byte {
	if i < len(p) {
		return p[i]
	}
	return 0
}

func matchImpl(pattern, str []byte, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false
	}
	for len(pattern) > 0 && len(str) > 0 {
		switch pattern[0] {
		case '*':
			for len(pattern) > 0 && at(pattern, 1) == '*' {
				pattern = pattern[1:]
			}
			if len(pattern) == 1 {
				return true
			}
			for len(str) > 0 {
				if matchImpl(pattern[1:], str, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				str = str[1:]
			}
			*skipLonger = true
			return false
		case '?':
			str = str[1:]
		case '[':
			pattern = pattern[1:]
			not := at(pattern, 0) == '^'
			if not {
				pattern = pattern[1:]
			}
			match := false
			for {
				if at(pattern, 0) == '\\' && len(pattern) >= 2 {
					pattern = pattern[1:]
					if pattern[0] == str[0] {
						match = true
					}
				} else if at(pattern, 0) == ']' {
					break
				} else if len(pattern) == 0 {
					// C steps back onto the last byte; the outer loop's
					// pattern++ then ends the pattern.
					pattern = nil
					break
				} else if len(pattern) >= 3 && pattern[1] == '-' {
					start, end := int(int8(pattern[0])), int(int8(pattern[2]))
					c := int(int8(str[0]))
					if start > end {
						start, end = end, start
					}
					pattern = pattern[2:]
					if c >= start && c <= end {
						match = true
					}
				} else if pattern[0] == str[0] {
					match = true
				}
				pattern = pattern[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			str = str[1:]
			if pattern == nil {
				// The pattern ran out inside the brackets.
				if len(str) == 0 {
					return true
				}
				return false
			}
		case '\\':
			if len(pattern) >= 2 {
				pattern = pattern[1:]
			}
			fallthrough
		default:
			if pattern[0] != str[0] {
				return false
			}
			str = str[1:]
		}
		pattern = pattern[1:]
		if len(str) == 0 {
			for len(pattern) > 0 && pattern[0] == '*' {
				pattern = pattern[1:]
			}
			break
		}
	}
	return len(pattern) == 0 && len(str) == 0
}
