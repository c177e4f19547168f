declare const hook: (...args: any[]) => Promise<unknown>;
export default hook;
