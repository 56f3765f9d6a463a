// The operations map's state, shared by its modules as one explicit object.
//
// The page starts from the snapshot the server rendered (#ops-state) and applies each event
// after its `last_event_id`. `snapshot` keeps what the server sent and the page only reads
// (names, labels, districts); `state` holds everything that changes as events arrive and
// everything the modules hand each other (the map, its layers and markers).

export const snapshot = JSON.parse(document.getElementById("ops-state").textContent);

const panel = document.getElementById("ops-map-panel").dataset;
export const urls = {
  reports: panel.reportsUrl || "",
  // Every open report, however many, as vector tiles drawn on canvas (the marker layer holds
  // the newest thousand, live, for triage).
  tiles: panel.tilesUrl || "",
  geojson: panel.geojsonUrl || "",
  // The report figures of the side panel, counted by the server over every report.
  figures: panel.figuresUrl || "",
};

export const state = {
  map: null,
  layers: {},
  reachLegend: null,

  shelters: new Map(snapshot.shelters.map((s) => [s.id, s])),
  shelterMarkers: new Map(),
  reports: new Map(),
  // What the API said of a report whose popup was opened (words, photos, contact): fetched
  // when someone opens it, never for every report.
  reportDetails: new Map(),
  reportMarkers: new Map(),
  alerts: new Map(snapshot.alerts.map((a) => [a.id, a])),
  alertLayers: new Map(),

  shortages: snapshot.shortages,
  evacueeSeries: snapshot.evacuees.map(([at, n]) => [new Date(at), n]),
  reportFigures: snapshot.report_figures,

  // Per alert being sent or recently sent: its delivery figures and safety answers exactly
  // as the `alert.delivery_progress` and `alert.safety_answers` events carry them (counts
  // only). Each event replaces an alert's figures, so one applied twice changes nothing.
  // The snapshot's counts are read after its last event, so they are newer than any event
  // up to it.
  deliveries: new Map(
    snapshot.deliveries.map((d) => {
      const since = { progressEvent: snapshot.last_event_id, safetyEvent: snapshot.last_event_id };
      return [d.id, { ...d, ...since }];
    }),
  ),
  // The alert whose reach the map colours and whose need-help list the panel shows.
  reachAlertId: snapshot.deliveries[0]?.id ?? null,

  lastEventId: snapshot.last_event_id,
};
