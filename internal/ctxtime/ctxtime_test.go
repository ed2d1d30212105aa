package ctxtime

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleep(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want error
	}{
		{"a short wait ends", context.Background(), time.Millisecond, nil},
		{"no wait", context.Background(), 0, nil},
		{"a negative wait does not wait", context.Background(), -time.Hour, nil},
		{"a done context ends an hour's wait", done, time.Hour, context.Canceled},
		{"a done context with no wait", done, 0, context.Canceled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Sleep(tc.ctx, tc.d); !errors.Is(err, tc.want) {
				t.Fatalf("Sleep(%v) = %v, want %v", tc.d, err, tc.want)
			}
		})
	}
}
