import type { ParamDecl } from '../types.js';

/**
 * Per axis: the position is an action (a set moves the stage; a reconnect must never move it by
 * itself), velocity and acceleration are setpoints (how later moves run; restored at start-up and
 * on every reconnect). All three are read back from the controller (TP?, VA?, AC?).
 */
export function esp300Params(axis: number): ParamDecl[] {
  return [
    {
      name: `axis${axis}_position`,
      kind: 'action',
      type: 'number',
      description: `Axis ${axis} absolute position; a set moves the stage and completes when motion is done (an action: never moved at start-up or on a reconnect; abortable)`,
      unit: 'mm',
      settable: 'running',
      readBack: true,
    },
    {
      name: `axis${axis}_velocity`,
      kind: 'setpoint',
      type: 'number',
      description: `Axis ${axis} move velocity (the controller refuses values above the stage's maximum)`,
      unit: 'mm/s',
      min: 0.000001,
      max: 1000,
      settable: 'running',
      readBack: true,
    },
    {
      name: `axis${axis}_acceleration`,
      kind: 'setpoint',
      type: 'number',
      description: `Axis ${axis} acceleration (the controller refuses values above the stage's maximum)`,
      unit: 'mm/s^2',
      min: 0.000001,
      max: 10000,
      settable: 'running',
      readBack: true,
    },
  ];
}
