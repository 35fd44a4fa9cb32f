package core

import (
	"testing"
	"time"
)

func TestFormatExpirationMatchesPythonIsoformat(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2019, 9, 24, 2, 17, 51, 739673000, time.UTC), "2019-09-24T02:17:51.739673+00:00"},
		{time.Date(2019, 9, 24, 2, 17, 51, 0, time.UTC), "2019-09-24T02:17:51+00:00"},
		{time.Date(2019, 9, 24, 2, 17, 51, 1000, time.UTC), "2019-09-24T02:17:51.000001+00:00"},
		{time.Date(2019, 9, 24, 2, 17, 51, 739673999, time.UTC), "2019-09-24T02:17:51.739673+00:00"},
		// Python keeps microseconds only: a sub-microsecond part is dropped.
		{time.Date(2019, 9, 24, 2, 17, 51, 999, time.UTC), "2019-09-24T02:17:51+00:00"},
		{time.Date(2019, 9, 24, 4, 17, 51, 500000000, time.FixedZone("CEST", 2*3600)), "2019-09-24T02:17:51.500000+00:00"},
	}
	for _, tt := range tests {
		if got := formatExpiration(tt.in); got != tt.want {
			t.Errorf("formatExpiration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
