// axios itself, for scale: every contender needs it, so it is external in every other entry.
export { default } from 'axios';
