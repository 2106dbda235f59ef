package jobgraph

import "slices"

// stronglyConnected returns the strongly connected components of the graph
// with nodes 0..len(adj)-1 (Tarjan's algorithm, iterative so deep graphs do
// not grow the stack). Each component is sorted, and the components are
// ordered by their smallest node, so the result is deterministic.
func stronglyConnected(adj [][]int) [][]int {
	n := len(adj)
	order := make([]int, n) // 0: unvisited; otherwise visit order + 1
	low := make([]int, n)
	onStack := make([]bool, n)
	var stack []int
	var comps [][]int
	next := 1
	type frame struct{ v, edge int }
	for root := 0; root < n; root++ {
		if order[root] != 0 {
			continue
		}
		order[root], low[root] = next, next
		next++
		stack = append(stack, root)
		onStack[root] = true
		calls := []frame{{v: root}}
		for len(calls) > 0 {
			top := &calls[len(calls)-1]
			if top.edge < len(adj[top.v]) {
				w := adj[top.v][top.edge]
				top.edge++
				switch {
				case order[w] == 0:
					order[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					calls = append(calls, frame{v: w})
				case onStack[w] && order[w] < low[top.v]:
					low[top.v] = order[w]
				}
				continue
			}
			v := top.v
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				if u := calls[len(calls)-1].v; low[v] < low[u] {
					low[u] = low[v]
				}
			}
			if low[v] != order[v] {
				continue
			}
			var comp []int
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			slices.Sort(comp)
			comps = append(comps, comp)
		}
	}
	slices.SortFunc(comps, func(a, b []int) int { return a[0] - b[0] })
	return comps
}

// cyclePath returns a shortest cycle through start inside the strongly
// connected component comp, as node positions beginning and ending with start.
func cyclePath(adj [][]int, comp []int, start int) []int {
	in := make(map[int]bool, len(comp))
	for _, c := range comp {
		in[c] = true
	}
	parent := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range adj[v] {
			if w == start {
				path := []int{start}
				for u := v; u != -1; u = parent[u] {
					path = append(path, u)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := parent[w]; seen || !in[w] {
				continue
			}
			parent[w] = v
			queue = append(queue, w)
		}
	}
	return []int{start, start} // not reached for a real component
}
