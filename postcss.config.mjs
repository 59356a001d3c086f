/** Tailwind 4 through its PostCSS plugin (no tailwind.config: configuration lives in app/globals.css). */
const config = {
  plugins: {
    "@tailwindcss/postcss": {},
  },
};

export default config;
