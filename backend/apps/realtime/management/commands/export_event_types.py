"""Write docs/events.md and the TypeScript client's event types from the event schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.realtime.schema_export import markdown, typescript


def targets() -> dict[Path, str]:
    root = Path(settings.REPO_DIR)
    return {
        root / "docs" / "events.md": markdown(),
        root / "frontend" / "packages" / "client" / "src" / "events.generated.ts": typescript(),
    }


class Command(BaseCommand):
    help = "Write docs/events.md and frontend/.../events.generated.ts from the event schemas."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--check", action="store_true", help="fail if a file is out of date, write nothing")

    def handle(self, *args: Any, check: bool, **options: Any) -> None:
        stale = [path for path, text in targets().items() if not path.exists() or path.read_text() != text]
        if check:
            if stale:
                raise CommandError(f"out of date: {', '.join(map(str, stale))}; run manage.py export_event_types")
            self.stdout.write("event docs and types are up to date")
            return
        for path, text in targets().items():
            path.write_text(text)
        self.stdout.write(f"wrote {len(targets())} files")
