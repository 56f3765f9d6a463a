// Applying one event to the page. Events set values (a status, a head-count, the shortage
// list, a report's state), so one applied twice changes nothing.
import { api } from "../dom.js";
import { applyAlert } from "./alert_areas.js";
import { applyAlertToDeliveries, applyFigures } from "./delivery.js";
import { addToFeed } from "./feed.js";
import { refreshFigures, renderPanel } from "./panel.js";
import { applyReportEvent, renderReportCount } from "./reports.js";
import { drawShelter } from "./shelters.js";
import { state } from "./state.js";
import { applyWarnings } from "./warnings.js";

async function refreshCareNeeds(shelterId) {
  try {
    const page = await api("GET", `/api/v1/shelters/${shelterId}/headcounts?limit=1`);
    const latest = (page.items ?? page)[0];
    const shelter = state.shelters.get(shelterId);
    if (latest && shelter) {
      shelter.care_needs = latest.care_needs;
      shelter.supported_elsewhere = latest.supported_at_home + latest.supported_in_cars;
      renderPanel();
    }
  } catch {
    // The figure stays as it was; the next head-count refreshes it.
  }
}

export function apply(event) {
  const { shelters } = state;
  if (event.id <= state.lastEventId) {
    // Replayed by a catch-up after we had it live, or overtaken by a later event.
    applyFigures(event);
    return;
  }
  state.lastEventId = event.id;
  applyWarnings(event);
  const p = event.payload;
  const shelter = shelters.get(p.shelter_id);
  switch (event.kind) {
    case "shelter.headcount":
      if (shelter && p.is_current !== false) {
        shelter.occupancy = p.total;
        shelter.capacity = p.capacity;
        drawShelter(shelter);
        refreshCareNeeds(shelter.id);
      }
      state.evacueeSeries.push([new Date(p.at), [...shelters.values()].reduce((n, s) => n + s.occupancy, 0)]);
      break;
    case "shelter.status_changed":
      if (shelter) {
        shelter.status = p.status;
        shelter.name = p.name;
        drawShelter(shelter);
      }
      break;
    case "stock.shortages":
      state.shortages = p.shortages;
      for (const s of shelters.values()) drawShelter(s);
      break;
    case "alert.approved":
    case "alert.sending":
    case "alert.sent":
    case "alert.cancelled":
      applyAlert(p);
      applyAlertToDeliveries(p);
      break;
    case "alert.delivery_progress":
    case "alert.safety_answers":
      applyFigures(event);
      break;
    default:
      if (event.kind.startsWith("report.")) {
        // The event carries what the marker needs: no request per report, however many
        // arrive; only the counts are asked for again, once per burst.
        applyReportEvent({ created_at: event.kind === "report.created" ? event.at : undefined, ...p });
        refreshFigures();
        renderReportCount();
      }
  }
  addToFeed(event);
  renderPanel();
  document.getElementById("ops-map-panel").dataset.lastEvent = String(state.lastEventId);
}
