// Package realtime is the realtime attendance stage (issue 9): the events
// an admin's criteria select, the three-minute ticks that pull their gate
// scans, and the upkeep of the seven days of scans the views serve.
package realtime

import "time"

// Realtime windows: scans are kept from WindowBefore an event's start to
// WindowAfter it, both ends included (the seed: five hours before, six
// after).
const (
	WindowBefore = 5 * time.Hour
	WindowAfter  = 6 * time.Hour
)

// SelectedEvent is one event the team's criteria select at a tick: a row
// of the seed's verification query over the clone's archtics.event.
type SelectedEvent struct {
	Team    string
	EventID int32
	// Name is archtics.event.event_name (the event code).
	Name string
	// Date is event_date as a civil date (midnight UTC of that day).
	Date time.Time
	// Start is event_date + event_time read in the team's zone: an instant.
	Start time.Time
}

// WindowOpen and WindowClose bound the scans kept for the event.
func (e SelectedEvent) WindowOpen() time.Time  { return e.Start.Add(-WindowBefore) }
func (e SelectedEvent) WindowClose() time.Time { return e.Start.Add(WindowAfter) }
