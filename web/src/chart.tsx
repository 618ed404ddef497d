// Charts where people would rather look than read (Chart.js on a canvas). The numbers also stay
// readable: every chart carries an aria-label and the tables beside it hold the same figures.
import type { JSX } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart as ChartJs,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

ChartJs.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

export function Chart(props: {
  label: string;
  type: 'bar' | 'line';
  labels: string[];
  datasets: Array<{ label: string; color: string; data: number[] }>;
  stacked?: boolean;
}): JSX.Element {
  const canvas = useRef<HTMLCanvasElement>(null);
  const key = JSON.stringify([props.type, props.labels, props.datasets, props.stacked]);
  useEffect(() => {
    if (!canvas.current) return;
    const chart = new ChartJs(canvas.current, {
      type: props.type,
      data: {
        labels: props.labels,
        datasets: props.datasets.map((d) => ({
          label: d.label,
          data: d.data,
          backgroundColor: d.color,
          borderColor: d.color,
        })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        plugins: { legend: { display: props.datasets.length > 1 } },
        scales: {
          x: { stacked: props.stacked ?? false },
          y: { stacked: props.stacked ?? false, beginAtZero: true },
        },
      },
    });
    return () => chart.destroy();
  }, [key]);
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={props.label} />
    </div>
  );
}
