"""The front-end libraries' files that pages use, found in node_modules (installed by npm at
setup, never committed) under `vendor/<library>/`.

Only the listed files: collecting whole package folders would copy (and compress)
tens of megabytes of sources, maps and builds no page loads.
"""

from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles.finders import BaseFinder
from django.core.checks import Error
from django.core.files.storage import FileSystemStorage

# static prefix -> (folder under node_modules, [files or globs in it])
VENDOR_FILES = {
    "vendor/htmx": ("htmx.org/dist", ["htmx.min.js"]),
    "vendor/echarts": ("echarts/dist", ["echarts.simple.min.js"]),
    "vendor/leaflet": (
        "leaflet/dist",
        ["leaflet.js", "leaflet.js.map", "leaflet.css", "images/*.png"],
    ),
    "vendor/topojson": ("topojson-client/dist", ["topojson-client.min.js"]),
    "vendor/world-atlas": ("world-atlas", ["countries-50m.json", "countries-110m.json"]),
}


def _node_modules():
    return Path(settings.BASE_DIR) / "node_modules"


class VendorFinder(BaseFinder):
    """Finds exactly VENDOR_FILES in node_modules (add it to STATICFILES_FINDERS)."""

    def _files(self):
        for prefix, (folder, patterns) in VENDOR_FILES.items():
            root = _node_modules() / folder
            storage = FileSystemStorage(location=str(root))
            storage.prefix = prefix
            for pattern in patterns:
                for path in sorted(root.glob(pattern)):
                    yield prefix, path.relative_to(root).as_posix(), storage

    def check(self, **kwargs):
        missing = [
            f"{folder}/{pattern}"
            for folder, patterns in VENDOR_FILES.values()
            for pattern in patterns
            if not any((_node_modules() / folder).glob(pattern))
        ]
        if missing:
            return [
                Error(
                    f"front-end files missing from node_modules: {', '.join(missing)}",
                    hint="run `npm ci --ignore-scripts` (scripts/stack.sh install does)",
                    id="molam.E001",
                )
            ]
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        found = []
        for prefix, relative, storage in self._files():
            if path == f"{prefix}/{relative}":
                match = storage.path(relative)
                if not find_all:
                    return match
                found.append(match)
        return found

    def list(self, ignore_patterns):
        for _prefix, relative, storage in self._files():
            yield relative, storage
