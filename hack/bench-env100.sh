# Sourced by the scripts that compare builds in turns (bench-ab.sh,
# bench-stopcpu.sh): with $work (a scratch directory) and $e (the
# environment's directory) set, it builds hack/testsvc and hack/portwait
# into $work and writes an environment of 100 testsvc services, s000 to
# s099, listening on 127.0.0.1 ports $p to $p+99 ($ports lists them).
export CGO_ENABLED=0
go build -o "$work/testsvc" ./hack/testsvc
go build -o "$work/portwait" ./hack/portwait
p=$((20000 + RANDOM % 12000)) # below the ephemeral ports (32768-)
mkdir -p "$e"
printf 'template=bench\nenvironment_root=%s\n' "$e" >"$e/.metadata"
{ echo "version: 1"; echo "services:"
  for i in $(seq 0 99); do printf '  s%03d:\n    command: [%s, --tcp, "127.0.0.1:%d"]\n' "$i" "$work/testsvc" $((p + i)); done
} >"$e/berth.yaml"
sleep 1.1 # older than a second, as a user's manifest: berth then keeps its parse
ports=$(seq "$p" $((p + 99)))
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
