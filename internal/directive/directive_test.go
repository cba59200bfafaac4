package directive

import (
	"slices"
	"testing"
)

func TestPlace(t *testing.T) {
	got, err := Place([]string{"log", "cache", "file"})
	if err != nil || !slices.Equal(got, []string{"log", "flatten", "cache", "file"}) {
		t.Errorf("directive.Place = %v, %v", got, err)
	}
}

func TestPlaceMissingAnchor(t *testing.T) {
	_, err := Place([]string{"template", "file"})
	if err == nil || err.Error() != `flatten: directive "cache" not found in CoreDNS's plugin order; cannot place "flatten"` {
		t.Errorf("error = %v", err)
	}
}
