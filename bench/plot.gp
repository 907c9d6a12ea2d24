# gnuplot -e "data='build/sweep.dat'" bench/plot.gp  ->  docs/perf_sum.png
# (gnuplot with the pngcairo terminal: Debian's gnuplot-nox has it.)
# One colour per program, solid after first use, dashed on first use; the
# key's first column is after first use, its second column first use, so
# that each row pairs the two measures of one program.
if (!exists("data")) data = 'build/sweep.dat'
set terminal pngcairo size 900,560 font ",11"
set output 'docs/perf_sum.png'
set title "Summing a shared float64 array with 2 processes or threads"
set xlabel "array size (MiB)"
set ylabel "throughput (GB/s)"
set logscale x 2
set key below vertical maxrows 3 Left reverse samplen 3
set yrange [0:*]
set grid
gb(mib, ms) = mib * 1048576.0 / (ms / 1000.0) / 1e9
# The Python series only where sweep.sh could measure it (numpy present).
py_rows = int(system("awk '!/^#/ && NF >= 6 && $6 != \"NaN\" { n++ } " . \
                     "END { print n + 0 }' '" . data . "'"))
py_title = py_rows > 0 ? "Python Pool(2).map, halves pickled to workers" : ""
plot data using 1:(gb($1,$3)) with linespoints lw 2 lc rgb "#7b2fbf" pt 7 \
       title "2 shmpool workers, after first use", \
     data using 1:(gb($1,$4)) with linespoints lw 2 lc rgb "#1a9e77" pt 5 \
       title "2 threads in one process, same array", \
     data using 1:(gb($1,$6)) with linespoints lw 2 lc rgb "#d95f02" pt 9 \
       title py_title, \
     data using 1:(gb($1,$2)) with linespoints lw 2 dt 2 lc rgb "#7b2fbf" pt 6 \
       title "2 shmpool workers, first use (attach)", \
     data using 1:(gb($1,$5)) with linespoints lw 2 dt 2 lc rgb "#1a9e77" pt 4 \
       title "2 threads, fresh mapping (first use)"
