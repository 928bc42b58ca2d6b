// Live per-token latency chart (uPlot): x = decoded token index, y = ms for that token. It shows the last few
// runs side by side with markers where the technique settings switched (src/ui/techniques/timeline.ts).
import { useSignalEffect } from '@preact/signals';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { switchMarkers, timeline } from '../techniques/timeline';

function chartData(): uPlot.AlignedData {
  return timeline.value.data;
}

export function LatencyChart() {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 150,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: false }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      axes: [
        { label: 'decoded token', size: 36, labelSize: 16, font: '11px system-ui', labelFont: '11px system-ui' },
        { label: 'ms', size: 44, labelSize: 16, font: '11px system-ui', labelFont: '11px system-ui' },
      ],
      series: [{}, { label: 'ms/token', stroke: '#2563eb', width: 1.5, points: { show: true, size: 4 } }],
      plugins: [switchMarkers()],
    };
    plot.current = new uPlot(opts, chartData(), el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height: 150 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useSignalEffect(() => {
    const data = chartData();
    plot.current?.setData(data);
  });

  return <div class="chart" data-testid="latency-chart" ref={box} />;
}
