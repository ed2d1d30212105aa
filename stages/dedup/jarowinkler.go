package dedup

// JaroWinkler is the Jaro-Winkler similarity of a and b in [0, 1], by the
// standard definition (Winkler 1990; as DuckDB's jaro_winkler_similarity):
// characters match when equal and at most max(len)/2-1 apart, each used
// once; Jaro is (m/|a| + m/|b| + (m-t)/m)/3 with t half the matched
// characters out of order; Winkler adds 0.1 per letter of common prefix,
// at most 4, times (1 - Jaro). Bytes are compared: the fields are
// normalised to lower case first.
//
// It is written here rather than taken from github.com/adrg/strutil,
// whose Jaro matches each string against the other independently with a
// wider window and so scores a dropped letter low ("eward" and "edward":
// 0.83 there, 0.95 here), which would miss the typos the rules must
// accept.
func JaroWinkler(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	var bufA, bufB [64]bool
	var ma, mb []bool
	if la > 64 || lb > 64 {
		ma, mb = make([]bool, la), make([]bool, lb)
	} else {
		ma, mb = bufA[:la], bufB[:lb]
	}
	m := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb, i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				m++
				break
			}
		}
	}
	if m == 0 {
		return 0
	}
	t, j := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if a[i] != b[j] {
			t++
		}
		j++
	}
	fm := float64(m)
	jaro := (fm/float64(la) + fm/float64(lb) + (fm-float64(t)/2)/fm) / 3
	p := 0
	for p < 4 && p < la && p < lb && a[p] == b[p] {
		p++
	}
	return jaro + 0.1*float64(p)*(1-jaro)
}

// oneEdit reports whether b is a with one letter dropped, added, changed
// or two neighbours swapped (an optimal-string-alignment distance of 1):
// the typos a box office makes.
func oneEdit(a, b string) bool {
	la, lb := len(a), len(b)
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	if lb-la > 1 || a == b {
		return false
	}
	i := 0
	for i < la && a[i] == b[i] {
		i++
	}
	if la == lb {
		// one change, or a swap of i and i+1
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	}
	return a[i:] == b[i+1:]
}

// editSimilarity is 1 - d/max(|a|, |b|) with d the optimal string
// alignment distance (letters dropped, added, changed, neighbours
// swapped): a long name with two typos ("Massachsuetts" and
// "Masachusetts") stays close, where Jaro-Winkler's transpositions
// count the shifted letters against it.
func editSimilarity(a, b string) float64 {
	if a == b {
		return 1
	}
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	var buf [3 * 65]int
	var prev2, prev, cur []int
	if lb < 65 {
		prev2, prev, cur = buf[0:lb+1], buf[65:65+lb+1], buf[130:130+lb+1]
	} else {
		prev2, prev, cur = make([]int, lb+1), make([]int, lb+1), make([]int, lb+1)
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= la; i++ {
		cur[0] = i
		for j := 1; j <= lb; j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, prev2[j-2]+1)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return 1 - float64(prev[lb])/float64(max(la, lb))
}
