export { dataChannelApplication } from './dataChannel';
