# The before/after table of bench/compare_builds.sh: per metric, the median and range of each
# side, and whether the after-median lies within the before range or 5% of the before-median.
#   python3 bench/compare_builds.py OUT_DIR
import json, statistics, glob, os
import sys
D=sys.argv[1] if len(sys.argv) > 1 else '.'
def load(side, bench, r):
    p=f'{D}/{side}-{bench}-{r}.json'
    return json.load(open(p)) if os.path.exists(p) else None
metrics=[]  # (name, bench, extractor, higher_is_better)
metrics.append(('warm_invoke P50 µs','warm_invoke',lambda d:d['p50_us'],False))
metrics.append(('warm_invoke P99 µs','warm_invoke',lambda d:d['p99_us'],False))
for k,n in [('python_pool','Python pool'),('nodejs_pool','Node.js pool'),('python_network_pool','Python network pool'),('python_empty_pool','Python empty pool'),('python_network_empty_pool','Python network, empty pool')]:
    metrics.append((f'cold_start {n} P50 ms','cold_start',lambda d,k=k:d[k]['p50_ms'],False))
def lvl(target,clients,key):
    def f(d):
        for l in d['levels']:
            if l['target']==target and l['clients']==clients: return l[key]
    return f
for c in (1,4,16):
    metrics.append((f'invoke_e2e surge c1x16 {c} clients calls/s','invoke_e2e',lvl('surge, concurrency 1 x 16 inst',c,'per_second'),True))
    metrics.append((f'invoke_e2e surge c1x16 {c} clients P50 µs','invoke_e2e',lvl('surge, concurrency 1 x 16 inst',c,'p50_us'),False))
for c in (1,16):
    metrics.append((f'invoke_e2e surge c16x1 {c} clients calls/s','invoke_e2e',lvl('surge, concurrency 16 x 1 inst',c,'per_second'),True))
def step(si,ri,key):
    return lambda d: d['scenarios'][si]['steps'][ri][key]
for si,sn in [(0,'on demand'),(1,'reserved')]:
    for ri,rn in [(0,'L'),(1,'2L'),(2,'10L')]:
        metrics.append((f'surge_load {sn} {rn} P95 ms','surge_load',step(si,ri,'p95_ms'),False))
rows=[]
ok_all=True
for name,bench,f,higher in metrics:
    b=[f(x) for x in (load('before',bench,r) for r in (1,2,3)) if x]
    a=[f(x) for x in (load('after',bench,r) for r in (1,2,3)) if x]
    if not b or not a: continue
    bm, am = statistics.median(b), statistics.median(a)
    within = min(b)<=am<=max(b) or abs(am-bm)<=0.05*bm
    better = (am>bm) if higher else (am<bm)
    verdict = 'within' if within else ('better' if better else 'OUTSIDE')
    if verdict=='OUTSIDE': ok_all=False
    rows.append(f'| {name} | {bm:.4g} ({min(b):.4g}–{max(b):.4g}) | {am:.4g} ({min(a):.4g}–{max(a):.4g}) | {verdict} |')
print('| metric | before: median (range) | after: median (range) | rule |')
print('| --- | --- | --- | --- |')
print('\n'.join(rows))
print('all within or better:', ok_all)
