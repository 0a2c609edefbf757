#!/usr/bin/env bash
# Build a jitteredge TensorRT engine on the target with trtexec (Jetson, JetPack 6 = TensorRT 10.3;
# TensorRT 11 and 8.x work too), from what `jitteredge export --format engine` wrote:
#
#   bash build_engine_on_jetson.sh MODEL.build.json
#
# MODEL.build.json names the ONNX beside it, the precision, the input shapes and the workspace. The
# trtexec arguments come from build_engine.py (next to this script) for the TensorRT found here, so
# this script and `python3 build_engine.py MODEL.build.json` (TensorRT's Python API) build the same
# engine. Afterwards MODEL.engine.json holds the model's metadata; the engine itself is TensorRT's own
# bytes, usable by trtexec, DeepStream and `jitteredge analyze --model MODEL.engine`.
# Needs: trtexec (set TRTEXEC=/path if not on PATH), python3 (standard library only).
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: bash $0 MODEL.build.json" >&2
  exit 2
fi
here="$(cd "$(dirname "$0")" && pwd)"
spec="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
# Say what is missing before anything runs it: under pipefail a missing trtexec in the version probe
# below would end the script with status 127 and no word. (The same lines as jitteredge's MODEL.trtexec.sh.)
TRTEXEC="${TRTEXEC:-$(command -v trtexec || echo /usr/src/tensorrt/bin/trtexec)}"
if ! command -v "$TRTEXEC" >/dev/null 2>&1; then
  echo "$0: trtexec not found at $TRTEXEC: install TensorRT (JetPack puts trtexec in /usr/src/tensorrt/bin), or set TRTEXEC=/path/to/trtexec" >&2
  exit 127
fi
if ! command -v python3 >/dev/null 2>&1; then echo "$0: python3 not found (needed to write the engine's JSON)" >&2; exit 127; fi
if [ ! -f "$here/build_engine.py" ]; then echo "$0: build_engine.py not found beside this script (in $here)" >&2; exit 2; fi

# "[TensorRT v100300]" -> 10.3.0; 8.x prints four digits ("v8602").
code="$("$TRTEXEC" --help 2>&1 | sed -n 's/.*TensorRT v\([0-9][0-9]*\).*/\1/p' | head -n 1 || true)"
if [ -z "$code" ]; then echo "$0: $TRTEXEC runs but prints no TensorRT version (set TRTEXEC=/path/to/trtexec)" >&2; exit 1; fi
if [ "${#code}" -ge 6 ]; then
  major=$((code / 10000)); version="$major.$(((code / 100) % 100)).$((code % 100))"
else
  major=$((code / 1000)); version="$major.$(((code / 100) % 10)).$((code % 100))"
fi

{ read -r typing; read -r args; } < <(python3 "$here/build_engine.py" --trtexec-command "$spec" "$major")
echo "TensorRT $version: building ${typing}ly typed: trtexec $args"
(cd "$(dirname "$spec")" && eval "\"$TRTEXEC\" $args")
python3 "$here/build_engine.py" --record "$spec" "$version" "$typing"
