#!/usr/bin/env bash
# What tools/gpu/gpu_check.py needs on the lent GPU machine, which has Python 3.12, JAX, PyTorch,
# numpy, pandas, scikit-learn, rich and h5py but no network: Keras, Hydra, OmegaConf, MLflow's
# tracking client with its SQLite store, and their small dependencies, as wheels in one folder
# (wheels/: add /wheels/ to .gitignore; carried to the machine), plus the MNIST files the
# check trains on.
#
# Build here (needs PyPI; the versions are the ones of this checkout's .venv):
#   bash tools/gpu/gpu_wheels.sh                               # wheels/ for Python 3.12, + MNIST
#   bash tools/gpu/gpu_wheels.sh --python 3.11 --dest /tmp/wheels311   # for a dry run here
# Install there (offline; only what is missing is installed, then optbench itself, editable):
#   bash tools/gpu/gpu_wheels.sh --install                     # python3 -m pip, from wheels/
#   PYTHON=/tmp/gpuvenv/bin/python bash tools/gpu/gpu_wheels.sh --install --dest /tmp/wheels311
#
# Options: --python X.Y (3.12), --dest DIR (wheels), --data-dir DIR (MNIST from DIR/mnist;
# default ../shared/data, else $OPTBENCH_DATA_DIR; --no-data to skip), --limit-mib N (60).
# docs/gpu.md has the whole procedure.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYVER=3.12
DEST=wheels
DATA_DIR=""
WITH_DATA=1
LIMIT_MIB=60
INSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --python) PYVER="$2"; shift 2 ;;
        --dest) DEST="$2"; shift 2 ;;
        --data-dir) DATA_DIR="$2"; shift 2 ;;
        --no-data) WITH_DATA=0; shift ;;
        --limit-mib) LIMIT_MIB="$2"; shift 2 ;;
        --install) INSTALL=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "gpu_wheels.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$DEST" in /*) ;; *) DEST="$REPO/$DEST" ;; esac

# What optbench's Keras-on-JAX path imports that the GPU machine lacks (top level; pip adds
# their dependencies: antlr4-python3-runtime 4.9.3 and PyYAML through Hydra and OmegaConf).
# mlflow-skinny is MLflow's client without the server and plotting stack; SQLAlchemy and
# alembic give it the SQLite store. Same versions as .venv here; a dependency is pinned by
# .venv's version when the wheels are built, not when they are installed (there, pip keeps
# whatever installed version already fits).
TOP=(
    keras==3.15.1
    hydra-core==1.3.8
    omegaconf==2.3.1
    mlflow-skinny==3.17.2
    SQLAlchemy==2.1.9
    alembic==1.20.1
)
# Already on the GPU machine (numpy, pandas, scikit-learn, rich, h5py, JAX) with what they
# pull in: not carried. Names as in wheel file names (lower case, '_' for '-').
PRESENT=(numpy h5py ml_dtypes rich pygments markdown_it_py mdurl pandas python_dateutil six
         tzdata pytz scikit_learn scipy joblib threadpoolctl jax jaxlib opt_einsum)

if [ "$INSTALL" = 1 ]; then
    PY="${PYTHON:-python3}"
    [ -d "$DEST" ] || { echo "gpu_wheels.sh: no $DEST (carry it: see docs/gpu.md)" >&2; exit 1; }
    # Offline and hermetic: no index, no pip configuration, only the carried folder. pip keeps
    # every installed package that already satisfies a requirement and installs the rest.
    unset PIP_FIND_LINKS PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CONSTRAINT
    export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
    "$PY" -m pip install -q --no-index --find-links "$DEST" --no-cache-dir "${TOP[@]}"
    # optbench itself: the working tree, editable (its conf/ is the package optbench.conf);
    # no dependencies (pyproject.toml names TensorFlow); setuptools and wheel come from DEST.
    "$PY" -m pip install -q --no-index --find-links "$DEST" --no-cache-dir --no-deps -e "$REPO"
    "$PY" - <<'EOF'
from importlib import metadata
names = ("keras", "hydra-core", "omegaconf", "mlflow-skinny", "sqlalchemy", "alembic", "jax",
         "jaxlib", "numpy", "optbench")
print("installed:", ", ".join(f"{n} {metadata.version(n)}" for n in names))
EOF
    exit 0
fi

PIP=(pip_quiet "$REPO/.venv/bin/python" -m pip)
pip_quiet() {  # pip, without the warnings about this machine's unused local index folders
    "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}
mkdir -p "$DEST"
rm -f "$DEST"/*.whl
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# this checkout's versions, for every dependency pip pulls in
"$REPO/.venv/bin/python" -m pip freeze --all --exclude-editable 2>/dev/null | grep -v -e ' @ ' -e '^-e ' >"$TMP/versions.txt"

# antlr4-python3-runtime 4.9.3 (Hydra's parser runtime) exists only as a source archive: build
# its wheel (pure Python, so for any Python 3).
"${PIP[@]}" wheel -q --no-deps --no-cache-dir --no-binary antlr4-python3-runtime \
    -w "$DEST" antlr4-python3-runtime==4.9.3

PLATFORMS=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux1_x86_64; do
    PLATFORMS+=(--platform "$p")
done
TARGET=(--only-binary=:all: --python-version "$PYVER" --implementation cp "${PLATFORMS[@]}")
# the closure of TOP (antlr4 found in DEST), then setuptools and wheel: the build backend of
# optbench's editable install there
"${PIP[@]}" download -q "${TARGET[@]}" --find-links "$DEST" -c "$TMP/versions.txt" \
    -d "$DEST" "${TOP[@]}"
"${PIP[@]}" download -q "${TARGET[@]}" --no-deps -c "$TMP/versions.txt" -d "$DEST" setuptools wheel

for name in "${PRESENT[@]}"; do
    rm -f "$DEST/$name"-[0-9]*.whl
done

if [ "$WITH_DATA" = 1 ]; then
    src="${DATA_DIR:-}"
    if [ -z "$src" ]; then
        for candidate in "$REPO/../shared/data" "${OPTBENCH_DATA_DIR:-}"; do
            if [ -n "$candidate" ] && [ -f "$candidate/mnist/train-images-idx3-ubyte.gz" ]; then
                src="$candidate"; break
            fi
        done
    fi
    if [ -z "$src" ] || [ ! -f "$src/mnist/train-images-idx3-ubyte.gz" ]; then
        echo "gpu_wheels.sh: no MNIST files found (--data-dir DIR with DIR/mnist/*.gz)" >&2
        exit 1
    fi
    mkdir -p "$DEST/data/mnist"
    cp "$src"/mnist/*-ubyte.gz "$DEST/data/mnist/"
fi

echo "$DEST (Python $PYVER, manylinux x86_64):"
(cd "$DEST" && ls -l *.whl | awk '{printf "  %9d  %s\n", $5, $9}')
if [ -d "$DEST/data" ]; then
    (cd "$DEST" && find data -type f -printf "  %9s  %p\n" | sort -k2)
fi
total=$(du -sb "$DEST" | cut -f1)
echo "total: $total bytes = $(awk -v b="$total" 'BEGIN {printf "%.1f", b / 1048576}') MiB" \
    "($(ls "$DEST"/*.whl | wc -l) wheels)"
if [ "$total" -gt $((LIMIT_MIB * 1048576)) ]; then
    echo "gpu_wheels.sh: over the ${LIMIT_MIB} MiB limit" >&2
    exit 1
fi
