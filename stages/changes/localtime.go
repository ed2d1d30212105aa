package changes

import "archtics/internal/wallclock"

// TimeLayout is Archtics' wall-clock timestamp, as rows carry it.
const TimeLayout = wallclock.Layout
