// The worker entry: the real engine, exposed over comlink. The UI talks to it through src/engine/client.ts.
import * as Comlink from 'comlink';
import { LabEngine } from './engine';

Comlink.expose(new LabEngine());
