-- 094: chain verification in SQL may use parallel workers (issue 2 benchmark: at least 500,000
-- records/s). Most of the time per row is recomputing its hash (encoding ~1 µs, SHA-256); rows hash
-- independently, so workers scan and hash parts of a large chain while the leader merges them in
-- (lane, seq) order (Gather Merge) and checks the links with the window, as before. The default costs
-- never choose that plan (parallel_tuple_cost charges every row the leader receives), so the function
-- sets them; chains below PostgreSQL's minimum parallel scan sizes stay serial. Measured on 1,000,000
-- events of one organization (bench/REPORT.md, Database core): serial 414k–450k records/s, with workers
-- 449k–556k records/s on this two-core machine.
alter function internal.verify_event_chains(uuid)
  set max_parallel_workers_per_gather = 2;
alter function internal.verify_event_chains(uuid)
  set parallel_setup_cost = 100;
alter function internal.verify_event_chains(uuid)
  set parallel_tuple_cost = 0;
