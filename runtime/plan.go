package runtime

import (
	"fmt"
	"strings"

	"github.com/berthdev/berth/metadata"
)

// All is the argument that names every service.
const All = "all"

// Select turns command-line names into services, ordered by order: "all"
// (alone) is every service; unknown names are an error naming the known ones.
// all reports whether "all" was given.
func Select(m *metadata.Manifest, names []string, order []string) (selected []string, all bool, err error) {
	if len(names) == 0 {
		return nil, false, fmt.Errorf("name a service or all (services: %s)", strings.Join(m.ServiceOrder, ", "))
	}
	want := map[string]bool{}
	for _, n := range names {
		if n == All {
			if len(names) > 1 {
				return nil, false, fmt.Errorf("all cannot be combined with service names")
			}
			return append([]string(nil), order...), true, nil
		}
		if m.Services[n] == nil {
			return nil, false, m.UnknownService(n)
		}
		want[n] = true
	}
	for _, n := range order {
		if want[n] {
			selected = append(selected, n)
		}
	}
	return selected, false, nil
}
