// @vitest-environment jsdom
import { cleanup, fireEvent, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DashboardRealtime,
  Leaderboard,
  NotificationCenter,
  ProgressBar,
  useCrateUpdates,
  useRequestUpdates,
  useStream,
} from "../src/index.js";
import { event, renderWithSocket } from "./harness.js";

afterEach(cleanup);

function Requests({ unitId }: { unitId: number }) {
  useRequestUpdates(unitId);
  return null;
}

function Crates({ unitId }: { unitId: number }) {
  useCrateUpdates(unitId);
  return null;
}

describe("query invalidation", () => {
  it.each([
    ["requests", <Requests unitId={1} />, "requests.unit.1", "request.updated"],
    ["crates", <Crates unitId={1} />, "crates.unit.1", "crate.updated"],
  ])("refetches %s of the unit on each event and after a reset", async (key, ui, stream, type) => {
    const app = renderWithSocket(ui);
    const invalidate = vi.spyOn(app.queryClient, "invalidateQueries");
    await app.open();

    expect(app.socket().sentOfType("subscribe")).toEqual([{ type: "subscribe", stream }]);
    app.serverSends(event({ type, stream, id: "1-0" }));
    app.serverSends({ type: "stream.reset", stream });

    expect(invalidate.mock.calls).toEqual([[{ queryKey: [key, 1] }], [{ queryKey: [key, 1] }]]);
  });
});

describe("useStream", () => {
  it("leaves the stream when the component unmounts", async () => {
    function Listener() {
      useStream("invoices", () => {});
      return null;
    }
    const app = renderWithSocket(<Listener />);
    await app.open();

    app.rerenderWith("access-1", null);

    expect(app.socket().sentOfType("unsubscribe")).toEqual([{ type: "unsubscribe", stream: "invoices" }]);
  });
});

describe("ProgressBar", () => {
  it("shows the job's latest progress", async () => {
    const app = renderWithSocket(<ProgressBar jobId="job-9" />);
    await app.open();

    app.serverSends(
      event({
        type: "progress.updated",
        stream: "progress.job.job-9",
        id: "1-0",
        action: "progress",
        job_id: "job-9",
        current: 3,
        total: 4,
        percent: 75,
        status: "started",
        message: "sending",
      }),
    );

    const bar = screen.getByTestId("progress-job-9");
    expect(bar.querySelector("progress")?.value).toBe(75);
    expect(bar.textContent).toContain("75% sending");
  });
});

describe("NotificationCenter", () => {
  const stream = "notifications.user.2";
  const data = { id: 5, title: "Sent back", body: "Add the crate.", level: "warning", status: "sent", read_at: null };

  it("lists new notifications and counts the unread ones", async () => {
    const app = renderWithSocket(<NotificationCenter userId={2} />);
    await app.open();

    app.serverSends(event({ type: "notification.created", stream, id: "1-0", notification_id: 5, data }));

    expect(screen.getByTestId("notification-5").textContent).toContain("Sent back");
    expect(screen.getByTestId("notifications-unread").textContent).toBe("1");
  });

  it("marks a notification read through the app", async () => {
    const onMarkRead = vi.fn();
    const app = renderWithSocket(<NotificationCenter userId={2} onMarkRead={onMarkRead} />);
    await app.open();
    app.serverSends(event({ type: "notification.created", stream, id: "1-0", notification_id: 5, data }));

    fireEvent.click(screen.getByRole("button", { name: "Mark read" }));

    expect(onMarkRead).toHaveBeenCalledWith(5);
    expect(screen.getByTestId("notifications-unread").textContent).toBe("0");
  });

  it("lists the stored notifications first, then adds live ones above them", async () => {
    const stored = [
      { id: 3, title: "Approved", body: "Request 1", level: "info", read_at: null },
      { id: 2, title: "Welcome", body: "", level: "info", read_at: "2026-11-20T09:00:00Z" },
    ];
    const app = renderWithSocket(<NotificationCenter userId={2} initial={stored} />);
    await app.open();
    expect(screen.getByTestId("notifications-unread").textContent).toBe("1");
    expect(screen.getByTestId("notification-2").dataset.read).toBe("true");

    app.serverSends(event({ type: "notification.created", stream, id: "1-0", notification_id: 5, data }));
    // A live copy of a stored one replaces it rather than listing it twice.
    app.serverSends(event({ type: "notification.created", stream, id: "1-1", notification_id: 3, data: stored[0] }));

    const ids = screen.getAllByTestId(/^notification-\d+$/).map((item) => item.dataset.testid);
    expect(ids).toEqual(["notification-3", "notification-5", "notification-2"]);
    expect(screen.getByTestId("notifications-unread").textContent).toBe("2");
    fireEvent.click(screen.getAllByRole("button", { name: "Mark read" })[0]!);
    expect(screen.getByTestId("notifications-unread").textContent).toBe("1");
  });

  it("shows broadcasts", async () => {
    const app = renderWithSocket(<NotificationCenter userId={2} />);
    await app.open();
    const id = "0b7f3c1e-6a55-4c1b-9d4e-2f1a7c9e8b10";

    const data = { id, title: "Maintenance", body: "At noon." };
    app.serverSends(
      event({ type: "notification.broadcast", stream: "notifications.all", id: "1-0", notification_id: id, data }),
    );

    expect(screen.getByTestId(`notification-${id}`).textContent).toContain("Maintenance");
  });

  it("refreshes the notification history on a delivery report without listing it", async () => {
    const app = renderWithSocket(<NotificationCenter userId={2} />);
    const invalidate = vi.spyOn(app.queryClient, "invalidateQueries");
    await app.open();

    app.serverSends(
      event({ type: "notification.status", stream, id: "1-0", action: "sent", notification_id: 8, status: "sent", data }),
    );

    expect(invalidate).toHaveBeenCalledWith({ queryKey: ["notifications"] });
    expect(screen.queryByTestId("notification-8")).toBeNull();
  });
});

describe("DashboardRealtime", () => {
  it("shows the latest figures, nested ones included", async () => {
    const app = renderWithSocket(<DashboardRealtime />);
    await app.open();

    app.serverSends(
      event({
        type: "dashboard.updated",
        stream: "dashboard",
        id: "1-0",
        dashboard_id: "main",
        data: { jobs_running: 1, notifications: { pending: 0, failed: 2 }, invoices: null },
      }),
    );

    expect(screen.getByTestId("dashboard-jobs_running").textContent).toBe("jobs_running1");
    expect(screen.getByTestId("dashboard-notifications").textContent).toContain("failed: 2");
    expect(screen.getByTestId("dashboard-invoices").textContent).toBe("invoices—");
  });
});

describe("Leaderboard", () => {
  it("shows the initial entries, then each update's", async () => {
    const app = renderWithSocket(<Leaderboard initial={[{ rank: 1, username: "stella", score: 70 }]} />);
    await app.open();
    expect(screen.getByTestId("leaderboard-stella").textContent).toBe("1stella70.0");

    const entries = [
      { rank: 1, user_id: 10, username: "sid", score: 90, graded: 1 },
      { rank: 2, user_id: 9, username: "stella", score: 87.5, graded: 2 },
      { rank: null, user_id: 11, username: "sue", score: null, graded: 0 },
      { bad: true },
    ];
    app.serverSends(
      event({ type: "leaderboard.updated", stream: "leaderboard", id: "1-0", leaderboard_id: "students", data: { entries } }),
    );

    expect(screen.getAllByRole("row").map((row) => row.textContent)).toEqual(["1sid90.0", "2stella87.5", "–sue–"]);
  });
});
