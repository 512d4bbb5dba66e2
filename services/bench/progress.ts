/** A progress bar on stderr, so stdout carries only the results. */
import { Presets, SingleBar } from 'cli-progress';
import { nowMs } from './stats';

export interface Progress {
  tick(): void;
  stop(): void;
}

export function progressBar(label: string, total: number): Progress {
  const bar = new SingleBar(
    {
      format: `${label.padEnd(11)} [{bar}] {value}/{total} apps  {rate} apps/s  eta {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      barsize: 30,
      etaBuffer: 200,
    },
    Presets.shades_classic,
  );
  const started = nowMs();
  let done = 0;
  bar.start(total, 0, { rate: '-' });
  return {
    tick() {
      done++;
      bar.update(done, { rate: ((done * 1000) / (nowMs() - started)).toFixed(1) });
    },
    stop() {
      bar.stop();
    },
  };
}
