# Sourced by bin/run and bin/test: make sure uv exists and the locked environment is installed.
export UV_PYTHON_DOWNLOADS=never
PY=${CHOSO_PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3
if command -v uv >/dev/null 2>&1; then
  UV=(uv)
else
  if ! "$PY" -m uv --version >/dev/null 2>&1; then
    echo "» installing uv with pip" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check uv
  fi
  UV=("$PY" -m uv)
fi
"${UV[@]}" sync --frozen --quiet --python "$PY"
