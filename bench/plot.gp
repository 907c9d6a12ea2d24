# gnuplot -e "data='build/sweep.dat'" bench/plot.gp  ->  docs/perf_sum.png
if (!exists("data")) data = 'build/sweep.dat'
set terminal pngcairo size 900,540 font ",11"
set output 'docs/perf_sum.png'
set title "Summing a shared float64 array: 2 shmpool workers vs 2 threads in one process"
set xlabel "array size (MiB)"
set ylabel "throughput (GB/s)"
set logscale x 2
set key below
set yrange [0:*]
set grid
gb(mib, ms) = mib * 1048576.0 / (ms / 1000.0) / 1e9
plot data using 1:(gb($1,$3)) with linespoints lw 2 title "shmpool, after first use", \
     data using 1:(gb($1,$4)) with linespoints lw 2 title "2 threads, same array", \
     data using 1:(gb($1,$2)) with linespoints lw 2 dt 2 title "shmpool, first use (attach)", \
     data using 1:(gb($1,$5)) with linespoints lw 2 dt 2 title "2 threads, fresh mapping"
