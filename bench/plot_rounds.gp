# gnuplot -e "data='build/map_rounds.dat'" bench/plot_rounds.gp
#   ->  docs/perf_rounds.png   (data from bench/map_rounds.py)
if (!exists("data")) data = 'build/map_rounds.dat'
set terminal pngcairo size 900,520 font ",11"
set output 'docs/perf_rounds.png'
set title "Repeated maps over a 1 GiB array, 2 workers, 16 chunks (medians)"
set xlabel "map call"
set ylabel "time per map (ms, log scale)"
set logscale y
set xtics 1
set grid
set key top right
plot data using 1:3 with linespoints lw 2 lc rgb "#7b2fbf" pt 7 \
       title "static (default), read-only handle", \
     data using 1:2 with linespoints lw 2 lc rgb "#d95f02" pt 9 \
       title "dynamic (the next chunk to any free worker)", \
     data using 1:4 with linespoints lw 2 dt 2 lc rgb "#7b2fbf" pt 6 \
       title "static, writable handle", \
     data using 1:5 with linespoints lw 2 lc rgb "#1a9e77" pt 5 \
       title "2 threads in one process, fresh read-only mapping"
