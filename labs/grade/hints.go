package grade

// Elsewhere looks for the count a step meant for key under another key:
// the first other key, in the order of Entries, that counted exactly want.
// A program that reads its key at the wrong offset or in the wrong byte
// order counts the right number of packets in the wrong slot, and the
// hint can name both slots.
func (c Counters[K]) Elsewhere(key K, want uint64) (K, bool) {
	for _, e := range c.Except(key).Entries(nil) {
		if e.Value == want {
			return e.Key, true
		}
	}
	var none K
	return none, false
}
