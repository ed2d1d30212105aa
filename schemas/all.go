package schemas

// All lists every table definition, stored tables and views, in the order
// the catalog creates them and `archtics tables` and the docs list them: a
// view comes after the tables it reads. A new table is added here; the
// test TestAllListsEveryTable fails when an exported table is missing.
var All = []*Table{
	// The dump's source tables, in dump order, and the other stored tables.
	Event, Cust, Ticket, Tex, Attendance, Scan, RTXAttendanceRaw, Rejects, Repairs,

	// The living clone: per source table its changes, compacted base and
	// archive; the account merges; then the current and history views.
	Changes(Event), Base(Event), Archive(Event),
	Changes(Cust), Base(Cust), Archive(Cust),
	Changes(Ticket), Base(Ticket), Archive(Ticket),
	Changes(Tex), Base(Tex), Archive(Tex),
	Changes(Attendance), Base(Attendance), Archive(Attendance),
	AcctMerge,
	Current(Event), History(Event),
	Current(Cust), History(Cust),
	Current(Ticket), History(Ticket),
	Current(Tex), History(Tex),
	Current(Attendance), History(Attendance),

	// The ticket holder's view and macro.
	TicketHolder, HolderAt,

	// Realtime attendance: the raw view, the enriched scans, the seed's
	// view and the legacy views over it.
	RTXAttendance, RTXEnriched, AttendanceRealtimeV, DWARealtimeAttendanceView, DWARealtimeAttendanceRTX,
	RTXEventSeats, Arrivals, NoShows,

	// Reconciliation of the realtime feed with the standard attendance.
	RTXDelivery, RTXReconcile, RTXReconcileScans, ReconcileV,

	// CRM deduplication.
	CRMContactVersion, CRMContact, CRMContactChanges, CRMAccountTable, CRMMappingVersion, CRMMatchWeights, CRMMatchModel,
	CRMArchticsMapping, CRMMappingHistory, CRMDedupSettings, CRMRejects,

	// The korebi settings and the realtime sample views.
	BIRuleSettingsHistory, BIRuleSettings,
	RealtimeAttendanceSample, RealtimeAttendanceReportSample,
	WatchListVersions, WatchListHistory, WatchList, WatchArrivals, // the watch list (watch.go)
}

// Lookup finds a table by "schema.table" or bare table name.
func Lookup(name string) (*Table, bool) {
	for _, t := range All {
		if t.FullName() == name || t.Name == name {
			return t, true
		}
	}
	return nil, false
}
